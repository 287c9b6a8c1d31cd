-- Orders pay with credits; failed and cancelled orders refund them exactly once;
-- payments never refund more than their amount; downloads expire.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;
\set mia '''d1000000-0000-4000-8000-000000000003'''
SELECT vibecraft.get_user_credits(:mia) AS mia_starts_with;

-- An order reserves its credits in the same step, with a ledger row pointing at it.
CREATE TEMP TABLE o AS
SELECT vibecraft.create_order(:mia, 'ai_generation', 40, '[{"prompt": "a red fox"}]', 4.00) AS id;
SELECT status, credits_used, total_cost FROM vibecraft.orders WHERE id = (SELECT id FROM o);
SELECT vibecraft.get_user_credits(:mia) AS after_order;
SELECT amount, reason, reference_type FROM vibecraft.credit_ledger WHERE reference_id = (SELECT id FROM o);

-- Processing, then failed: the 40 credits come back, once.
UPDATE vibecraft.orders SET status = 'processing' WHERE id = (SELECT id FROM o);
UPDATE vibecraft.orders SET status = 'failed' WHERE id = (SELECT id FROM o);
SELECT vibecraft.get_user_credits(:mia) AS after_failure;
SELECT vibecraft.refund_order_credits((SELECT id FROM o)) AS refunded_again;
SELECT amount, reason FROM vibecraft.credit_ledger WHERE reference_id = (SELECT id FROM o) ORDER BY created_at, amount;
-- Final means final (23514: the message names the order's id, so only the code here).
\set VERBOSITY sqlstate
UPDATE vibecraft.orders SET status = 'cancelled' WHERE id = (SELECT id FROM o);
\set VERBOSITY default

-- cancel_order on a pending order refunds too; on a completed one it changes nothing.
CREATE TEMP TABLE o2 AS SELECT vibecraft.create_order(:mia, 'stock_download', 15) AS id;
SELECT vibecraft.cancel_order((SELECT id FROM o2)) AS cancelled;
SELECT vibecraft.cancel_order('de000000-0000-4000-8000-000000000001') AS cancel_completed;
SELECT vibecraft.get_user_credits(:mia) AS after_cancel;

-- A hand-written order row cannot mint credits: refunds follow the ledger, not credits_used.
INSERT INTO vibecraft.orders (id, user_id, order_type, credits_used)
VALUES ('de000000-0000-4000-8000-0000000000ff', :mia, 'stock_download', 1000);
UPDATE vibecraft.orders SET status = 'cancelled' WHERE id = 'de000000-0000-4000-8000-0000000000ff';
SELECT vibecraft.get_user_credits(:mia) AS unchanged_by_forged_order;

-- Too few credits: a clear error and no order.
\set VERBOSITY terse
SELECT vibecraft.create_order(:mia, 'ai_generation', 1000000);
SELECT vibecraft.create_order(:mia, 'ai_generation', -1);
SELECT vibecraft.create_order(:mia, 'no_such_type', 1);
SELECT vibecraft.create_order(NULL, 'ai_generation', 1);
\set VERBOSITY default
SELECT count(*) AS orders_of_mia FROM vibecraft.orders WHERE user_id = :mia;

-- The ledger still sums to the balance.
SELECT (SELECT b.credits FROM vibecraft.credit_balances b WHERE b.user_id = u.id) = (SELECT sum(amount) FROM vibecraft.credit_ledger l WHERE l.user_id = u.id) AS ledger_matches
  FROM vibecraft.users u WHERE u.id = :mia;

-- Payments: partial refunds add up, never beyond the amount.
SELECT vibecraft.refund_payment('df000000-0000-4000-8000-000000000001', 4.00) AS refunded;
SELECT status, refund_amount FROM vibecraft.payments WHERE id = 'df000000-0000-4000-8000-000000000001';
\set VERBOSITY terse
SELECT vibecraft.refund_payment('df000000-0000-4000-8000-000000000001', 6.00);
SELECT vibecraft.refund_payment('df000000-0000-4000-8000-000000000001', 0);
SELECT vibecraft.refund_payment('00000000-0000-4000-8000-000000000000', 1);
\set VERBOSITY default
SELECT vibecraft.refund_payment('df000000-0000-4000-8000-000000000001') AS refunded_the_rest;
SELECT status, refund_amount FROM vibecraft.payments WHERE id = 'df000000-0000-4000-8000-000000000001';
\set VERBOSITY terse
SELECT vibecraft.refund_payment('df000000-0000-4000-8000-000000000001', 0.01);
\set VERBOSITY default

-- Downloads: a live one hands out its URL and counts; an expired one is refused, and
-- cleanup deactivates it.
SELECT vibecraft.record_download('e0000000-0000-4000-8000-000000000001') AS url;
SELECT download_count FROM vibecraft.downloads WHERE id = 'e0000000-0000-4000-8000-000000000001';
\set VERBOSITY terse
SELECT vibecraft.record_download('e0000000-0000-4000-8000-000000000002');
\set VERBOSITY default
SELECT vibecraft.cleanup_expired_downloads() AS deactivated;
SELECT id, is_active FROM vibecraft.downloads WHERE user_id = :mia ORDER BY id;
