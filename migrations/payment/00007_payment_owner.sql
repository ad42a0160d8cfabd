-- +goose Up
-- Who checked out: the caller's principal (its API key). A storefront key
-- reads only its own payments; payments made before this column have no
-- owner and are read by admins only.
ALTER TABLE payments ADD COLUMN owner TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE payments DROP COLUMN owner;
