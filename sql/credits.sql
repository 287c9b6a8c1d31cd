-- Credits: the functions are native (src/credits.rs); their documentation lives here.
COMMENT ON FUNCTION vibecraft.deduct_credits(uuid, integer, text, text) IS
    'Take amount credits from a user in one atomic step with a ledger row; false and no change when the balance is too low. A repeated idempotency_key returns the first result. A user for itself; the service role and admins for anyone. 22023 for a zero, negative or NULL amount.';
COMMENT ON FUNCTION vibecraft.add_credits(uuid, integer, text, text) IS
    'Give a user amount credits in one atomic step with a ledger row; returns the new balance. A repeated idempotency_key returns the first result. Service role and admins only.';
COMMENT ON FUNCTION vibecraft.get_user_credits(uuid) IS
    'A user''s credit balance (a user its own; the service role and admins anyone''s).';
