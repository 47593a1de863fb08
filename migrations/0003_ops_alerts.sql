CREATE TABLE `alerts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`value` integer NOT NULL,
	`threshold` integer NOT NULL,
	`message` text NOT NULL,
	`delivery` text NOT NULL,
	`http_status` integer
);
--> statement-breakpoint
CREATE INDEX `alerts_kind_subject_at_idx` ON `alerts` (`kind`,`subject`,`at`);--> statement-breakpoint
CREATE INDEX `alerts_at_idx` ON `alerts` (`at`);