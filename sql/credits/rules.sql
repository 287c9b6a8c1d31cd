-- Credits: the ledger and the atomic balance changes (native: src/credits.rs).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Users read their own ledger and balance; credits move only through the functions below.
CREATE POLICY own_read ON vibecraft.credit_ledger FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_read ON vibecraft.credit_balances FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

-- Every user has a balance row from the start, however the user is created (signing up,
-- the auth backend, a DBA's INSERT), so the credit functions always find one to lock.
-- On a Citus node the trigger fires on each node's copy of users (a reference table),
-- where it may not write the distributed credit_balances (a distributed query from a
-- shard): the copy on the node that holds the user's balance shard writes that shard
-- (docs/scale-out.md).
CREATE OR REPLACE FUNCTION vibecraft.open_credit_balance()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shard text;
BEGIN
    IF vibecraft.restoring_dump() THEN
        RETURN NULL;  -- the dump holds the balance rows
    END IF;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'users' THEN
        shard := vibecraft.citus_local_shard('vibecraft.credit_balances', NEW.id);
        IF shard IS NOT NULL THEN
            EXECUTE pg_catalog.format('INSERT INTO vibecraft.%I (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING', shard)
              USING NEW.id;
        END IF;
        RETURN NULL;
    END IF;
    INSERT INTO vibecraft.credit_balances (user_id) VALUES (NEW.id) ON CONFLICT (user_id) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER open_credit_balance AFTER INSERT ON vibecraft.users
    FOR EACH ROW EXECUTE FUNCTION vibecraft.open_credit_balance();

COMMENT ON FUNCTION vibecraft.open_credit_balance() IS 'Trigger: a new user gets its credit balance row (zero credits).';
COMMENT ON TABLE vibecraft.credit_balances IS 'Each user''s credit balance (credits, with lifetime credits_spent); equals the sum of the user''s ledger. Changed only by the credit functions.';

-- The functions are native (src/credits.rs); their documentation lives here.
COMMENT ON FUNCTION vibecraft.deduct_credits(uuid, integer, text, text) IS
    'Take amount credits from a user in one atomic step with a ledger row; false and no change when the balance is too low. A repeated idempotency_key returns the first result. A user for itself; the service role and admins for anyone. 22023 for a zero, negative or NULL amount.';

COMMENT ON FUNCTION vibecraft.add_credits(uuid, integer, text, text) IS
    'Give a user amount credits in one atomic step with a ledger row; returns the new balance. A repeated idempotency_key returns the first result. Service role and admins only.';

COMMENT ON FUNCTION vibecraft.get_user_credits(uuid) IS
    'A user''s credit balance (a user its own; the service role and admins anyone''s).';

COMMENT ON TABLE vibecraft.credit_ledger IS 'Every change of a user''s credits: amount, balance after, reason, actor, reference, idempotency key. Sums to credit_balances.credits.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.deduct_credits(uuid, integer, text, text) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.add_credits(uuid, integer, text, text) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.get_user_credits(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT SELECT ON vibecraft.credit_ledger, vibecraft.credit_balances TO vibecraft_authenticated;
