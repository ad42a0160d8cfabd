-- +goose Up
-- The card sandbox's ledger, kept as a processor keeps its records: one row
-- per charge, found again by the idempotency key it was made with. Never a
-- card number.
CREATE TABLE sandbox_charges (
    idempotency_key TEXT PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    refunded_at     TIMESTAMP NULL
);
CREATE INDEX sandbox_charges_created ON sandbox_charges (created_at);

-- +goose Down
DROP TABLE sandbox_charges;
