DROP INDEX `claims_asha_period_live_uq`;--> statement-breakpoint
DROP INDEX `claims_status_polled_idx`;--> statement-breakpoint
ALTER TABLE `claims` ADD `next_poll_at` integer;--> statement-breakpoint
ALTER TABLE `claims` ADD `last_poll_outcome` text;--> statement-breakpoint
ALTER TABLE `claims` ADD `holds_month` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `claims` ADD `maybe_recorded` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `claims` ADD `purged_at` text;--> statement-breakpoint
-- Hand-written backfill (not generated): who holds each month under the new rule. Claims that did not
-- hold it under the old index (REJECTED, FAILED, CANCELLED) release it; a claim whose delivery gave up
-- (DELIVERY_FAILED) may have been recorded by the portal, so it takes its month back unless another
-- claim holds it now (one per month: the smallest id).
UPDATE `claims` SET `holds_month` = 0 WHERE `status` IN ('REJECTED', 'FAILED', 'CANCELLED');--> statement-breakpoint
UPDATE `claims` SET `holds_month` = 1, `maybe_recorded` = 1
WHERE `status` = 'FAILED' AND `failure_code` = 'DELIVERY_FAILED'
  AND NOT EXISTS (SELECT 1 FROM `claims` AS `h` WHERE `h`.`asha_id` = `claims`.`asha_id` AND `h`.`period` = `claims`.`period` AND `h`.`holds_month` = 1)
  AND `id` = (SELECT min(`f`.`id`) FROM `claims` AS `f` WHERE `f`.`asha_id` = `claims`.`asha_id` AND `f`.`period` = `claims`.`period` AND `f`.`status` = 'FAILED' AND `f`.`failure_code` = 'DELIVERY_FAILED');--> statement-breakpoint
CREATE UNIQUE INDEX `claims_asha_period_holder_uq` ON `claims` (`asha_id`,`period`) WHERE holds_month = 1;--> statement-breakpoint
CREATE INDEX `claims_status_next_poll_idx` ON `claims` (`status`,`next_poll_at`);--> statement-breakpoint
CREATE INDEX `claims_purge_idx` ON `claims` (`purged_at`,`updated_at`);--> statement-breakpoint
CREATE INDEX `claim_deliveries_operation_at_idx` ON `claim_deliveries` (`operation`,`at`);--> statement-breakpoint
CREATE INDEX `claim_webhooks_state_created_idx` ON `claim_webhooks` (`state`,`created_at`);