CREATE TABLE `backlog_samples` (
	`at` text PRIMARY KEY NOT NULL,
	`claims_queued` integer NOT NULL,
	`claims_pending` integer NOT NULL,
	`fiscal_outbox` integer NOT NULL,
	`webhooks_pending` integer NOT NULL,
	`dead_letters_open` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `console_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`generation` integer,
	`key_check` text,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`ended_at` text
);
--> statement-breakpoint
CREATE INDEX `console_sessions_expires_idx` ON `console_sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `cron_runs` (
	`job` text PRIMARY KEY NOT NULL,
	`cron` text NOT NULL,
	`started_at` text NOT NULL,
	`finished_at` text NOT NULL,
	`duration_ms` integer NOT NULL,
	`outcome` text NOT NULL,
	`error_kind` text,
	`last_ok_at` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_target_idx` ON `audit_log` (`target_id`);--> statement-breakpoint
CREATE INDEX `audit_log_request_idx` ON `audit_log` (`request_id`);--> statement-breakpoint
CREATE INDEX `upstream_calls_request_idx` ON `upstream_calls` (`request_id`);