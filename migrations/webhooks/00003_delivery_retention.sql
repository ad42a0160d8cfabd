-- +goose Up
-- Deliveries are kept for webhooks.retention after they were made, then
-- pruned with their attempts, oldest first (internal/webhooks).
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (created_at);

-- +goose Down
DROP INDEX webhook_deliveries_age;
