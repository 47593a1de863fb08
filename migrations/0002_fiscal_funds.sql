CREATE TABLE `fiscal_callbacks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`sender_id` text NOT NULL,
	`message_id` text NOT NULL,
	`content_hash` text NOT NULL,
	`type` text NOT NULL,
	`action` text,
	`message_ts` integer,
	`target_message_id` text,
	`matched_by` text,
	`status_code` text,
	`status_message` text,
	`answer` text NOT NULL,
	`received_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `fiscal_callbacks_dedupe_idx` ON `fiscal_callbacks` (`sender_id`,`message_id`,`content_hash`);--> statement-breakpoint
CREATE INDEX `fiscal_callbacks_target_idx` ON `fiscal_callbacks` (`target_message_id`,`id`);--> statement-breakpoint
CREATE TABLE `fiscal_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_id` text NOT NULL,
	`type` text NOT NULL,
	`action` text NOT NULL,
	`parent_id` text,
	`transaction_id` text,
	`linked_id` text,
	`pi_id` text,
	`status` text NOT NULL,
	`status_message` text,
	`delivery_status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_http_status` integer,
	`last_error` text,
	`wire_body` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`delivered_at` text
);
--> statement-breakpoint
CREATE INDEX `fiscal_messages_txn_idx` ON `fiscal_messages` (`transaction_id`);--> statement-breakpoint
CREATE INDEX `fiscal_messages_linked_idx` ON `fiscal_messages` (`linked_id`);--> statement-breakpoint
CREATE INDEX `fiscal_messages_owner_idx` ON `fiscal_messages` (`owner_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `fiscal_messages_status_idx` ON `fiscal_messages` (`delivery_status`,`status`);--> statement-breakpoint
CREATE INDEX `fiscal_messages_pi_idx` ON `fiscal_messages` (`pi_id`);--> statement-breakpoint
CREATE TABLE `fiscal_outbox` (
	`message_id` text PRIMARY KEY NOT NULL,
	`attempt` integer DEFAULT 0 NOT NULL,
	`lease_until` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `fiscal_outbox_lease_idx` ON `fiscal_outbox` (`lease_until`);--> statement-breakpoint
CREATE TABLE `funds_accounts` (
	`tenant_id` text NOT NULL,
	`head_of_account` text NOT NULL,
	`ssu_code` text NOT NULL,
	`sanctioned` integer DEFAULT false NOT NULL,
	`allotted` integer DEFAULT 0 NOT NULL,
	`withdrawn` integer DEFAULT 0 NOT NULL,
	`committed` integer DEFAULT 0 NOT NULL,
	`available` integer DEFAULT 0 NOT NULL,
	`seq` integer DEFAULT 0 NOT NULL,
	`pi_synced_seq` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `head_of_account`, `ssu_code`)
);
--> statement-breakpoint
CREATE INDEX `funds_accounts_available_idx` ON `funds_accounts` (`tenant_id`,`available`);--> statement-breakpoint
CREATE TABLE `funds_allotments` (
	`txn_id` text PRIMARY KEY NOT NULL,
	`owner_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`head_of_account` text NOT NULL,
	`ssu_code` text NOT NULL,
	`type` text NOT NULL,
	`amount` integer NOT NULL,
	`state` text NOT NULL,
	`seq` integer,
	`result` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `funds_allotments_account_idx` ON `funds_allotments` (`tenant_id`,`head_of_account`,`ssu_code`);--> statement-breakpoint
CREATE TABLE `payment_instructions` (
	`pi_id` text PRIMARY KEY NOT NULL,
	`payment_id` text NOT NULL,
	`owner_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`requested_head_of_account` text,
	`requested_ssu_code` text,
	`head_of_account` text,
	`ssu_code` text,
	`amount` integer NOT NULL,
	`beneficiary_count` integer NOT NULL,
	`beneficiaries_enc` text NOT NULL,
	`status` text NOT NULL,
	`live` integer DEFAULT 1 NOT NULL,
	`seq` integer DEFAULT 0 NOT NULL,
	`message_id` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payment_instructions_live_payment_idx` ON `payment_instructions` (`payment_id`) WHERE live = 1;--> statement-breakpoint
CREATE INDEX `payment_instructions_status_idx` ON `payment_instructions` (`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `payment_instructions_owner_idx` ON `payment_instructions` (`owner_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `payment_instructions_tenant_idx` ON `payment_instructions` (`tenant_id`,`created_at`);