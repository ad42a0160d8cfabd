-- +goose Up
-- One row counting the catalogue's changes: every create, update and delete
-- adds one in its own transaction. Each catalogue replica's read cache
-- looks at it (catalogue.cache_check) to learn of changes made through the
-- other replicas, and drops what it remembers when the count has moved.
CREATE TABLE changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO changes (id, n) VALUES (1, 0);

-- +goose Down
DROP TABLE changes;
