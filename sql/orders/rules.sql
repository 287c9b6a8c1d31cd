-- Orders that pay with credits, payments and refunds, downloads with expiry (native: src/orders.rs).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Orders: pending -> processing -> completed | failed | cancelled; pending may also go
-- straight to failed or cancelled; completed, failed and cancelled are final.
CREATE OR REPLACE FUNCTION vibecraft.order_status_transition_allowed(from_status text, to_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT from_status = to_status
        OR (from_status = 'pending' AND to_status IN ('processing', 'failed', 'cancelled'))
        OR (from_status = 'processing' AND to_status IN ('completed', 'failed', 'cancelled'))
$$;

CREATE OR REPLACE FUNCTION vibecraft.enforce_order_status_flow()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT vibecraft.order_status_transition_allowed(OLD.status, NEW.status) THEN
        RAISE EXCEPTION 'order %: status cannot change from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = '23514',
                  HINT = 'Orders move pending -> processing -> completed | failed | cancelled; completed, failed and cancelled are final.',
                  TABLE = 'orders', SCHEMA = 'vibecraft', COLUMN = 'status';
    END IF;
    IF NEW.status = 'completed' AND OLD.status <> 'completed' THEN
        NEW.completed_at := coalesce(NEW.completed_at, pg_catalog.now());
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER enforce_order_status_flow
    BEFORE UPDATE OF status ON vibecraft.orders
    FOR EACH ROW EXECUTE FUNCTION vibecraft.enforce_order_status_flow();

COMMENT ON FUNCTION vibecraft.order_status_transition_allowed(text, text) IS
    'Whether an order may move from one status to another (pending -> processing -> completed | failed | cancelled).';

COMMENT ON FUNCTION vibecraft.enforce_order_status_flow() IS
    'Trigger: rejects an invalid order status change with SQLSTATE 23514 and stamps completed_at.';

-- An order that ends failed or cancelled gets its reserved credits back, once: the
-- refund is what the ledger took for the order, and a second run finds nothing left.
CREATE OR REPLACE FUNCTION vibecraft.refund_ended_order()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM vibecraft.refund_order_credits(NEW.id, NEW.user_id);  -- the order's whole key
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER refund_ended_order
    AFTER UPDATE OF status ON vibecraft.orders
    FOR EACH ROW
    WHEN (NEW.status IN ('failed', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION vibecraft.refund_ended_order();

-- Users may cancel their own pending orders; the service role and admins any order
-- that is not final yet.
CREATE OR REPLACE FUNCTION vibecraft.cancel_order(order_id uuid)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
    staff boolean := vibecraft.is_service() OR vibecraft.is_admin();
    owners uuid[];
BEGIN
    -- An order is (id, user_id): ids are unique per user only (docs/scale-out.md). A user's
    -- is its own; staff name one by its id alone, which must then be one user's. The order
    -- is then locked by its whole key (on Citus: on its one shard).
    IF staff THEN
        SELECT array_agg(s.user_id) INTO owners FROM (SELECT o2.user_id FROM vibecraft.orders o2 WHERE o2.id = order_id LIMIT 2) s;
        IF cardinality(owners) > 1 THEN
            RAISE EXCEPTION 'vibecraft.cancel_order: orders of several users have the id %', order_id
                USING ERRCODE = '21000';
        END IF;
    ELSE
        owners := ARRAY[vibecraft.current_user_id()];
    END IF;
    -- Only orders the caller may cancel are looked at, so another user's order and one
    -- that does not exist get the same answer.
    SELECT id, user_id, status INTO o FROM vibecraft.orders
     WHERE id = order_id AND user_id = owners[1]
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'vibecraft.cancel_order: no such order of yours' USING ERRCODE = '42501';
    END IF;
    IF NOT (staff OR o.status = 'pending') THEN
        RAISE EXCEPTION 'vibecraft.cancel_order: you may cancel only your own pending orders'
            USING ERRCODE = '42501';
    END IF;
    IF o.status IN ('completed', 'failed', 'cancelled') THEN
        RETURN false;
    END IF;
    UPDATE vibecraft.orders SET status = 'cancelled' WHERE id = o.id AND user_id = o.user_id;
    RETURN true;
END
$$;

-- Refund part or all of a payment. One guarded UPDATE, so concurrent refunds can
-- never add up to more than the amount (a CHECK constraint stands behind it too).
CREATE OR REPLACE FUNCTION vibecraft.refund_payment(payment_id uuid, refund numeric DEFAULT NULL)
RETURNS numeric
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    total numeric;
    owners uuid[];
BEGIN
    PERFORM vibecraft.require_staff('refund_payment');
    IF refund IS NOT NULL AND refund <= 0 THEN
        RAISE EXCEPTION 'vibecraft.refund_payment: refund must be more than zero' USING ERRCODE = '22023';
    END IF;
    -- Payment ids are unique per user only (docs/scale-out.md): the payment is found once,
    -- then changed by its whole key; an id of several users' payments is refused.
    SELECT array_agg(s.user_id) INTO owners FROM (SELECT p2.user_id FROM vibecraft.payments p2 WHERE p2.id = payment_id LIMIT 2) s;
    IF cardinality(owners) > 1 THEN
        RAISE EXCEPTION 'vibecraft.refund_payment: payments of several users have the id %', payment_id
            USING ERRCODE = '21000';
    END IF;
    UPDATE vibecraft.payments AS t
       SET refund_amount = t.refund_amount + coalesce(refund, t.amount - t.refund_amount),
           status = CASE WHEN t.refund_amount + coalesce(refund, t.amount - t.refund_amount) >= t.amount
                         THEN 'refunded' ELSE 'partially_refunded' END,
           refunded_at = pg_catalog.now()
     WHERE t.id = payment_id AND t.user_id = owners[1]
       AND t.status IN ('succeeded', 'partially_refunded')
       AND t.refund_amount + coalesce(refund, t.amount - t.refund_amount) <= t.amount
       AND coalesce(refund, t.amount - t.refund_amount) > 0
    RETURNING t.refund_amount INTO total;
    IF FOUND THEN
        RETURN total;
    END IF;
    SELECT status, amount, refund_amount INTO p FROM vibecraft.payments WHERE id = payment_id AND user_id = owners[1];
    IF NOT FOUND THEN
        RAISE EXCEPTION 'vibecraft.refund_payment: no such payment' USING ERRCODE = '22023';
    END IF;
    IF p.status NOT IN ('succeeded', 'partially_refunded') THEN
        RAISE EXCEPTION 'vibecraft.refund_payment: a % payment cannot be refunded', p.status
            USING ERRCODE = '55000';
    END IF;
    RAISE EXCEPTION 'vibecraft.refund_payment: % would exceed what is left to refund (% of %)',
        coalesce(refund, 0), p.amount - p.refund_amount, p.amount
        USING ERRCODE = '22023';
END
$$;

-- Hand out a download: counts it and returns the file URL, unless it expired or was
-- deactivated. One's own downloads only (staff: any); another's is "no such download".
CREATE OR REPLACE FUNCTION vibecraft.record_download(download_id uuid)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    url text;
    staff boolean := vibecraft.is_service() OR vibecraft.is_admin();
    uid uuid := vibecraft.current_user_id();
BEGIN
    -- Download ids are unique per user only (docs/scale-out.md): a user's own is theirs;
    -- staff name one by its id alone, which must then be unambiguous.
    IF staff AND (SELECT count(*) FROM vibecraft.downloads d WHERE d.id = download_id) > 1 THEN
        RAISE EXCEPTION 'vibecraft.record_download: downloads of several users have the id %', download_id
            USING ERRCODE = '21000';
    END IF;
    -- The counter is the database's: users hold no UPDATE on downloads, so this runs with
    -- the owner's rights and checks whose download it is itself.
    UPDATE vibecraft.downloads AS d
       SET download_count = d.download_count + 1, last_downloaded_at = pg_catalog.now()
     WHERE d.id = download_id AND (staff OR d.user_id = uid)
       AND d.is_active AND (d.expires_at IS NULL OR d.expires_at > pg_catalog.now())
    RETURNING d.file_url INTO url;
    IF FOUND THEN
        RETURN url;
    END IF;
    IF EXISTS (SELECT 1 FROM vibecraft.downloads d WHERE d.id = download_id AND (staff OR d.user_id = uid)) THEN
        RAISE EXCEPTION 'vibecraft.record_download: this download has expired'
            USING ERRCODE = '55000', HINT = 'Order it again to get a fresh link.';
    END IF;
    RAISE EXCEPTION 'vibecraft.record_download: no such download' USING ERRCODE = '22023';
    RETURN NULL;
END
$$;

-- Deactivate downloads past their expiry; returns how many. Runs as the caller (RLS
-- applies); daily_maintenance runs it for everyone.
CREATE OR REPLACE FUNCTION vibecraft.cleanup_expired_downloads()
RETURNS integer
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    WITH expired AS (
        UPDATE vibecraft.downloads SET is_active = false
         WHERE is_active AND expires_at <= pg_catalog.now()
        RETURNING 1)
    SELECT pg_catalog.count(*)::integer FROM expired
$$;

COMMENT ON FUNCTION vibecraft.create_order(uuid, text, integer, jsonb, numeric, jsonb) IS
    'Create a pending order and take its credits in the same step (ledger row referencing the order). Too few credits: 23514 and no order. A user for itself; the service role and admins for anyone.';

COMMENT ON FUNCTION vibecraft.refund_order_credits(uuid, uuid) IS
    'refund_order_credits for the order named by its whole key (order id and its user), as the refund trigger calls it; the same rules.';

COMMENT ON FUNCTION vibecraft.refund_order_credits(uuid) IS
    'Give back, once, the credits a failed or cancelled order took (what the ledger took for it); returns how many. Called by the refund_ended_order trigger.';

COMMENT ON FUNCTION vibecraft.refund_ended_order() IS
    'Trigger: refunds an order''s credits when it becomes failed or cancelled.';

COMMENT ON FUNCTION vibecraft.cancel_order(uuid) IS
    'Cancel an order (users: their own pending ones; service role and admins: any that is not final); the credits come back. False when it was already final.';

COMMENT ON FUNCTION vibecraft.refund_payment(uuid, numeric) IS
    'Refund part of a payment (or, with NULL, the rest of it); returns the total refunded. Never more than the amount: 22023. Service role and admins only.';

COMMENT ON FUNCTION vibecraft.record_download(uuid) IS
    'Count a download and return its file URL; 55000 when it has expired or was deactivated.';

COMMENT ON FUNCTION vibecraft.cleanup_expired_downloads() IS
    'Deactivate downloads past their expires_at; returns how many.';

-- Orders, payments and downloads are read by their owner. Orders are created by
-- create_order (which takes the credits), cancelled by cancel_order; staff moves their
-- status along the flow above (the only column they may change directly). Payments
-- change through refund_payment or the service role; downloads through record_download.
CREATE POLICY own_read ON vibecraft.orders FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY staff_update ON vibecraft.orders FOR UPDATE
    USING (vibecraft.is_service() OR vibecraft.is_admin())
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY own_read ON vibecraft.payments FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_rows ON vibecraft.downloads FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

COMMENT ON TABLE vibecraft.orders IS 'Orders (Creo): pending -> processing -> completed | failed | cancelled; failed and cancelled ones refund their credits once.';
COMMENT ON TABLE vibecraft.payments IS 'Stripe payments of orders; refund_amount can never exceed amount (refund_payment).';
COMMENT ON TABLE vibecraft.downloads IS 'Downloads handed to a user, with expiry (record_download, cleanup_expired_downloads).';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.order_status_transition_allowed(text, text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.create_order(uuid, text, integer, jsonb, numeric, jsonb) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.cancel_order(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.refund_order_credits(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.refund_order_credits(uuid, uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.refund_payment(uuid, numeric) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.record_download(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.cleanup_expired_downloads() TO vibecraft_service;
GRANT SELECT, UPDATE (status) ON vibecraft.orders TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.payments, vibecraft.downloads TO vibecraft_authenticated;
