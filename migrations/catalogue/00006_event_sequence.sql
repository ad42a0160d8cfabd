-- +goose Up
-- Every event names the resource it is about and counts that resource's
-- events: the counter's row lock makes the events of one resource take
-- turns, so their sequence is their commit order (internal/outbox).
ALTER TABLE outbox ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN sequence BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_resource ON outbox (resource, sequence);
CREATE TABLE outbox_sequences (
    resource TEXT PRIMARY KEY,
    seq      BIGINT NOT NULL
);

-- +goose Down
DROP TABLE outbox_sequences;
DROP INDEX outbox_resource;
ALTER TABLE outbox DROP COLUMN sequence;
ALTER TABLE outbox DROP COLUMN resource;
