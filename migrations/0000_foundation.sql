CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`target_type` text NOT NULL,
	`target_id` text,
	`before` text,
	`after` text,
	`request_id` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_at_idx` ON `audit_log` (`at`);--> statement-breakpoint
CREATE INDEX `audit_log_action_idx` ON `audit_log` (`action`,`at`);--> statement-breakpoint
CREATE TABLE `clients` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`scopes` text NOT NULL,
	`secret_hash` text NOT NULL,
	`api_key_hash` text NOT NULL,
	`generation` integer DEFAULT 1 NOT NULL,
	`revoked_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `clients_api_key_hash_unique` ON `clients` (`api_key_hash`);--> statement-breakpoint
CREATE INDEX `clients_revoked_idx` ON `clients` (`revoked_at`);--> statement-breakpoint
CREATE TABLE `dead_letters` (
	`id` text PRIMARY KEY NOT NULL,
	`queue` text NOT NULL,
	`kind` text NOT NULL,
	`subject_id` text,
	`body` text NOT NULL,
	`reason` text,
	`created_at` text NOT NULL,
	`replayed_at` text,
	`replay_count` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dead_letters_created_idx` ON `dead_letters` (`created_at`);--> statement-breakpoint
CREATE INDEX `dead_letters_subject_idx` ON `dead_letters` (`kind`,`subject_id`);--> statement-breakpoint
CREATE TABLE `upstream_calls` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`portal` text NOT NULL,
	`operation` text NOT NULL,
	`subject_id` text,
	`request_id` text,
	`tracker` text,
	`attempt` integer DEFAULT 1 NOT NULL,
	`outcome` text NOT NULL,
	`http_status` integer,
	`duration_ms` integer NOT NULL,
	`error_code` text,
	`request_body` text,
	`response_body` text
);
--> statement-breakpoint
CREATE INDEX `upstream_calls_at_idx` ON `upstream_calls` (`at`);--> statement-breakpoint
CREATE INDEX `upstream_calls_portal_idx` ON `upstream_calls` (`portal`,`at`);--> statement-breakpoint
CREATE INDEX `upstream_calls_subject_idx` ON `upstream_calls` (`subject_id`);