-- Credits: the ledger and the atomic balance changes (native: src/credits.rs).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Users read their own ledger; credits move only through the functions below.
CREATE POLICY own_read ON vibecraft.credit_ledger FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

-- The functions are native (src/credits.rs); their documentation lives here.
COMMENT ON FUNCTION vibecraft.deduct_credits(uuid, integer, text, text) IS
    'Take amount credits from a user in one atomic step with a ledger row; false and no change when the balance is too low. A repeated idempotency_key returns the first result. A user for itself; the service role and admins for anyone. 22023 for a zero, negative or NULL amount.';

COMMENT ON FUNCTION vibecraft.add_credits(uuid, integer, text, text) IS
    'Give a user amount credits in one atomic step with a ledger row; returns the new balance. A repeated idempotency_key returns the first result. Service role and admins only.';

COMMENT ON FUNCTION vibecraft.get_user_credits(uuid) IS
    'A user''s credit balance (a user its own; the service role and admins anyone''s).';

COMMENT ON TABLE vibecraft.credit_ledger IS 'Every change of a user''s credits: amount, balance after, reason, actor, reference, idempotency key. Sums to users.credits.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.deduct_credits(uuid, integer, text, text) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.add_credits(uuid, integer, text, text) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.get_user_credits(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT SELECT ON vibecraft.credit_ledger TO vibecraft_authenticated;
