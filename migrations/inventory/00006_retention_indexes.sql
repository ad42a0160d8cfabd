-- +goose Up
-- What retention prunes is found by when it ended or was made, without
-- reading every reservation or adjustment.
CREATE INDEX reservations_status_updated ON reservations (status, updated_at);
CREATE INDEX adjustments_created ON adjustments (created_at);

-- +goose Down
DROP INDEX adjustments_created;
DROP INDEX reservations_status_updated;
