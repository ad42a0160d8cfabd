-- +goose Up
CREATE TABLE stock (
    product_id TEXT PRIMARY KEY,
    on_hand    BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved   BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at TIMESTAMP NOT NULL,
    -- The last line of defence against overselling: the conditional updates
    -- in the store never get here, but a bug would fail instead of oversell.
    CHECK (reserved <= on_hand)
);

-- A reservation holds stock for one checkout until it is committed (sold),
-- released, expired, or — after a refund — restocked.
CREATE TABLE reservations (
    id         TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX reservations_status_expiry ON reservations (status, expires_at);

CREATE TABLE reservation_items (
    reservation_id TEXT NOT NULL REFERENCES reservations (id),
    product_id     TEXT NOT NULL,
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, product_id)
);

-- Every manual change of stock, for the audit trail.
CREATE TABLE adjustments (
    id         TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    delta      BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    on_hand    BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX adjustments_product ON adjustments (product_id, created_at);

-- +goose Down
DROP TABLE adjustments;
DROP TABLE reservation_items;
DROP TABLE reservations;
DROP TABLE stock;
