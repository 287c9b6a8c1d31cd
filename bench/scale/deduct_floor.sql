-- user: postgres
-- The floor of deduct_credits: the two statements it runs on Citus (the balance, then the
-- ledger row), sent directly by the table owner in one transaction.
\set u random(1, 1000)
BEGIN;
UPDATE vibecraft.credit_balances SET credits = credits - 1, credits_spent = credits_spent + 1
 WHERE user_id = ('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid AND credits >= 1;
INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after, reason)
VALUES (('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid, -1, 0, 'bench floor');
END;
