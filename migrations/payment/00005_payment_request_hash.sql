-- +goose Up
-- What a checkout sent with its Idempotency-Key asked for (a hash of the
-- cart, the email and the card's public details): a repeat of the key for
-- another request is refused instead of being answered with this payment.
-- The payment is the key's whole record: a repeat's answer is rebuilt from it.
ALTER TABLE payments ADD COLUMN request_hash TEXT NULL;

-- +goose Down
ALTER TABLE payments DROP COLUMN request_hash;
