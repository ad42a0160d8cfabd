-- +goose Up
-- The Idempotency-Key a checkout was sent with (scoped to its caller): a
-- retry that runs again after its first attempt's process died finds the
-- payment instead of charging twice.
ALTER TABLE payments ADD COLUMN idempotency_key TEXT NULL;
CREATE UNIQUE INDEX payments_idempotency_key ON payments (idempotency_key);

-- +goose Down
DROP INDEX payments_idempotency_key;
ALTER TABLE payments DROP COLUMN idempotency_key;
