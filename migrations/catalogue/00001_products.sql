-- +goose Up
CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price       BIGINT NOT NULL CHECK (price >= 0),
    currency    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    deleted_at  TIMESTAMP NULL
);

-- A SKU is unique among live products; a deleted product frees its SKU.
CREATE UNIQUE INDEX products_live_sku ON products (sku) WHERE deleted_at IS NULL;

-- +goose Down
DROP TABLE products;
