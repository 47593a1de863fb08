ALTER TABLE `fiscal_messages` ADD `idempotency_key` text;--> statement-breakpoint
ALTER TABLE `fiscal_messages` ADD `request_hash` text;--> statement-breakpoint
CREATE UNIQUE INDEX `fiscal_messages_owner_idem_uq` ON `fiscal_messages` (`owner_id`,`idempotency_key`) WHERE idempotency_key IS NOT NULL;