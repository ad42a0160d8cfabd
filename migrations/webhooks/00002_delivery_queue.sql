-- +goose Up
-- Each endpoint's pending deliveries, oldest first, read straight off an
-- index: delivery sends an endpoint its queue in order (internal/webhooks),
-- however long the history of delivered ones grows.
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, status, created_at, id);
-- Deleting an endpoint now fails its pending deliveries at once; those of
-- endpoints deleted before are failed here.
UPDATE webhook_deliveries SET status = 'failed'
WHERE status = 'pending' AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE deleted_at IS NOT NULL);

-- +goose Down
DROP INDEX webhook_deliveries_queue;
