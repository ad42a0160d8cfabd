-- The tables a checkout writes, as payment's and inventory's migrations
-- create them (migrations/payment/00001–00005, migrations/inventory/00001),
-- in one database, with 1,000 products in stock. See README.md here.
CREATE TABLE stock (
    product_id TEXT PRIMARY KEY,
    on_hand    BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved   BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at TIMESTAMP NOT NULL,
    CHECK (reserved <= on_hand)
);
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
CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    status          TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount >= 0),
    currency        TEXT NOT NULL,
    email           TEXT NOT NULL,
    card_brand      TEXT NOT NULL,
    card_last4      TEXT NOT NULL,
    charge_id       TEXT NULL,
    failure_code    TEXT NULL,
    decline_code    TEXT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    idempotency_key TEXT NULL,
    request_hash    TEXT NULL
);
CREATE INDEX payments_status ON payments (status, id);
CREATE UNIQUE INDEX payments_idempotency_key ON payments (idempotency_key);
CREATE TABLE payment_items (
    payment_id TEXT NOT NULL REFERENCES payments (id),
    position   INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    unit_price BIGINT NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (payment_id, position)
);
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    published_at TIMESTAMP NULL
);
CREATE INDEX outbox_unpublished ON outbox (published_at, created_at);
INSERT INTO stock (product_id, on_hand, reserved, updated_at)
    SELECT 'p' || x, 100000000, 0, now() FROM generate_series(1, 1000) AS x;
