-- +goose Up
-- Each delivery knows the resource its event is about and the event's place
-- among that resource's events, so an endpoint gets a resource's events in
-- order while the events of other resources go on (see dispatch.go).
ALTER TABLE webhook_deliveries ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN sequence BIGINT NOT NULL DEFAULT 0;
CREATE INDEX webhook_deliveries_resource ON webhook_deliveries (endpoint_id, resource, sequence);

-- +goose Down
DROP INDEX webhook_deliveries_resource;
ALTER TABLE webhook_deliveries DROP COLUMN sequence;
ALTER TABLE webhook_deliveries DROP COLUMN resource;
