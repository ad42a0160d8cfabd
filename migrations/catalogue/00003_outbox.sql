-- +goose Up
-- Domain events, written in the same transaction as the change they report
-- (see internal/outbox) and published from here.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    published_at TIMESTAMP NULL
);
CREATE INDEX outbox_unpublished ON outbox (published_at, created_at);

-- +goose Down
DROP TABLE outbox;
