-- +goose Up
-- The outbox keeps only the events not yet handed on: the webhooks' relay
-- deletes what it has queued for delivery (internal/outbox), so the table is
-- as short as the backlog instead of growing with every event ever made.
-- Events already handed on go now.
DELETE FROM outbox WHERE published_at IS NOT NULL;
DROP INDEX outbox_unpublished;
ALTER TABLE outbox DROP COLUMN published_at;
CREATE INDEX outbox_order ON outbox (created_at, id);

-- +goose Down
DROP INDEX outbox_order;
ALTER TABLE outbox ADD COLUMN published_at TIMESTAMP NULL;
CREATE INDEX outbox_unpublished ON outbox (published_at, created_at);
