-- +goose Up
-- Keys are stored only as SHA-256 hashes; the key itself is shown once, at creation.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE api_keys;
