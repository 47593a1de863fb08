DROP INDEX `payment_instructions_live_payment_idx`;--> statement-breakpoint
ALTER TABLE `payment_instructions` ADD `program_code` text;--> statement-breakpoint
ALTER TABLE `payment_instructions` ADD `registry_at` text;--> statement-breakpoint
CREATE INDEX `payment_instructions_payment_idx` ON `payment_instructions` (`payment_id`);--> statement-breakpoint
ALTER TABLE `fiscal_callbacks` ADD `dedupe_key` text;--> statement-breakpoint
CREATE UNIQUE INDEX `fiscal_callbacks_dedupe_key_idx` ON `fiscal_callbacks` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `fiscal_callbacks_received_idx` ON `fiscal_callbacks` (`received_at`,`id`);--> statement-breakpoint
ALTER TABLE `fiscal_messages` ADD `receiver_id` text;--> statement-breakpoint
ALTER TABLE `fiscal_messages` ADD `location_code` text;