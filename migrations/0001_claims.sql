CREATE TABLE `catalogue_versions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`version` text NOT NULL,
	`effective_from` text NOT NULL,
	`activities` text NOT NULL,
	`content_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `catalogue_versions_version_unique` ON `catalogue_versions` (`version`);--> statement-breakpoint
CREATE INDEX `catalogue_versions_effective_idx` ON `catalogue_versions` (`effective_from`,`id`);--> statement-breakpoint
CREATE TABLE `claim_deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`claim_id` text NOT NULL,
	`operation` text NOT NULL,
	`attempt` integer NOT NULL,
	`at` text NOT NULL,
	`outcome` text NOT NULL,
	`http_status` integer,
	`duration_ms` integer NOT NULL,
	`error_code` text
);
--> statement-breakpoint
CREATE INDEX `claim_deliveries_claim_idx` ON `claim_deliveries` (`claim_id`,`id`);--> statement-breakpoint
CREATE TABLE `claim_reconciliations` (
	`period` text NOT NULL,
	`owner_id` text NOT NULL,
	`status` text NOT NULL,
	`claim_count` integer NOT NULL,
	`total_paise` integer NOT NULL,
	`computed_at` text NOT NULL,
	PRIMARY KEY(`period`, `owner_id`, `status`)
);
--> statement-breakpoint
CREATE TABLE `claim_submissions` (
	`claim_id` text PRIMARY KEY NOT NULL,
	`wire_body` text NOT NULL,
	`body_sha256` text NOT NULL,
	`generated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `claim_webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`claim_id` text NOT NULL,
	`owner_id` text NOT NULL,
	`claim_status` text NOT NULL,
	`payload` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_http_status` integer,
	`last_error` text,
	`created_at` text NOT NULL,
	`delivered_at` text
);
--> statement-breakpoint
CREATE INDEX `claim_webhooks_state_due_idx` ON `claim_webhooks` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `claim_webhooks_claim_idx` ON `claim_webhooks` (`claim_id`);--> statement-breakpoint
CREATE TABLE `claims` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_id` text NOT NULL,
	`asha_id` text NOT NULL,
	`period` text NOT NULL,
	`status` text NOT NULL,
	`schedule` text NOT NULL,
	`verifier_employee_id` text NOT NULL,
	`verifier_name` text NOT NULL,
	`items` text NOT NULL,
	`content_hash` text NOT NULL,
	`total_paise` integer NOT NULL,
	`catalogue_version` text,
	`receipt` text,
	`errors` text NOT NULL,
	`failure_code` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`cycle_attempts` integer DEFAULT 0 NOT NULL,
	`dispatch_id` text,
	`lease_owner` text,
	`lease_until` integer,
	`next_attempt_at` integer,
	`polls` integer DEFAULT 0 NOT NULL,
	`last_polled_at` integer,
	`request_id` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `claims_asha_period_live_uq` ON `claims` (`asha_id`,`period`) WHERE status NOT IN ('REJECTED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE INDEX `claims_owner_created_idx` ON `claims` (`owner_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `claims_status_period_idx` ON `claims` (`status`,`period`,`id`);--> statement-breakpoint
CREATE INDEX `claims_status_lease_idx` ON `claims` (`status`,`lease_until`);--> statement-breakpoint
CREATE INDEX `claims_status_polled_idx` ON `claims` (`status`,`last_polled_at`);--> statement-breakpoint
CREATE INDEX `claims_period_owner_status_idx` ON `claims` (`period`,`owner_id`,`status`);