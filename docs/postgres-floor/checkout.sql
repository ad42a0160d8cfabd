-- One successful checkout of one product, as the shop sends it to PostgreSQL:
-- the same statements in the same transactions, pipelined the same way
-- (internal/database/pipeline.go): 8 round trips, 5 commits.
\set id random(1, 9000000000000000)
\set p random(1, 1000)
\startpipeline
INSERT INTO payment.payments (id, status, amount, currency, email, card_brand, card_last4, idempotency_key, request_hash, created_at, updated_at) VALUES ('pay' || :id, 'pending', 1000, 'EUR', 'bench@example.com', 'visa', '4242', 'key' || :id, 'hash', now(), now());
INSERT INTO payment.payment_items (payment_id, position, product_id, quantity, unit_price) VALUES ('pay' || :id, 0, 'p' || :p, 1, 1000);
\endpipeline
\startpipeline
BEGIN;
INSERT INTO inventory.reservations (id, status, expires_at, created_at, updated_at) VALUES ('pay' || :id, 'held', now(), now(), now());
UPDATE inventory.stock SET reserved = reserved + 1, updated_at = now() WHERE product_id = 'p' || :p AND on_hand - reserved >= 1;
INSERT INTO inventory.reservation_items (reservation_id, product_id, quantity) VALUES ('pay' || :id, 'p' || :p, 1);
\endpipeline
COMMIT;
UPDATE payment.payments SET charge_id = 'ch' || :id, updated_at = now() WHERE id = 'pay' || :id AND status = 'pending';
\startpipeline
BEGIN;
UPDATE inventory.reservations SET updated_at = now() WHERE id = 'pay' || :id AND status = 'held';
UPDATE inventory.stock SET on_hand = on_hand - 1, reserved = reserved - 1, updated_at = now() WHERE product_id = 'p' || :p AND EXISTS (SELECT 1 FROM inventory.reservations WHERE id = 'pay' || :id AND status = 'held') RETURNING on_hand, reserved;
UPDATE inventory.reservations SET status = 'committed', updated_at = now() WHERE id = 'pay' || :id AND status = 'held';
\endpipeline
COMMIT;
\startpipeline
BEGIN;
UPDATE payment.payments SET status = 'succeeded', failure_code = NULL, decline_code = NULL, updated_at = now() WHERE id = 'pay' || :id AND status = 'pending';
INSERT INTO payment.outbox (id, type, payload, created_at) VALUES ('evt' || :id, 'payment.succeeded', '{"id":"pay","status":"succeeded","amount":1000,"currency":"EUR","items":[{"product_id":"p1","quantity":1,"unit_price":1000}],"email":"bench@example.com"}', now());
\endpipeline
COMMIT;
