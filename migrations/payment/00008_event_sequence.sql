-- +goose Up
-- Every event names the payment it is about and its place among the
-- payment's events: decided (succeeded or failed) first, refunded second
-- (internal/outbox QueueAt), so a receiver can order and deduplicate them.
ALTER TABLE outbox ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN sequence BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_resource ON outbox (resource, sequence);

-- +goose Down
DROP INDEX outbox_resource;
ALTER TABLE outbox DROP COLUMN sequence;
ALTER TABLE outbox DROP COLUMN resource;
