-- +goose Up
-- Only the card's brand and last four digits are kept: never the number, never the cvc.
CREATE TABLE payments (
    id           TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount >= 0),
    currency     TEXT NOT NULL,
    email        TEXT NOT NULL,
    card_brand   TEXT NOT NULL,
    card_last4   TEXT NOT NULL,
    -- Set once the processor accepted the charge; a pending payment with a
    -- charge_id was charged but its stock not yet committed.
    charge_id    TEXT NULL,
    failure_code TEXT NULL,
    decline_code TEXT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX payments_status ON payments (status, id);

CREATE TABLE payment_items (
    payment_id TEXT NOT NULL REFERENCES payments (id),
    position   INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    unit_price BIGINT NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (payment_id, position)
);

-- +goose Down
DROP TABLE payment_items;
DROP TABLE payments;
