-- The floor of deduct_credits: the statement it runs (the balance, the amount spent and
-- the ledger row with its actor, in one statement), sent directly.
\set u random(1, 1000)
WITH debit AS (UPDATE vibecraft.credit_balances SET credits = credits - 1, credits_spent = credits_spent + 1
                WHERE user_id = ('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid AND credits >= 1 RETURNING user_id, credits)
INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after, reason, actor_id)
SELECT user_id, -1, credits, 'bench', vibecraft.current_user_id() FROM debit;
