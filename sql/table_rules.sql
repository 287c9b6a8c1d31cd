-- Rules every table follows: updated_at kept by the native trigger, the order status
-- flow, and pg_dump keeping the rows users add (pg_extension_config_dump).

-- vibecraft.set_updated_at() (native, src/triggers/updated_at.rs) on every table that
-- has an updated_at column.
DO $attach$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
         WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'r'
           AND a.attname = 'updated_at' AND NOT a.attisdropped
         ORDER BY c.relname
    LOOP
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION vibecraft.set_updated_at()', t);
    END LOOP;
END
$attach$;

-- Orders: pending -> processing -> completed | failed | cancelled; pending may also go
-- straight to failed or cancelled; completed, failed and cancelled are final.
CREATE FUNCTION vibecraft.order_status_transition_allowed(from_status text, to_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT from_status = to_status
        OR (from_status = 'pending' AND to_status IN ('processing', 'failed', 'cancelled'))
        OR (from_status = 'processing' AND to_status IN ('completed', 'failed', 'cancelled'))
$$;

CREATE FUNCTION vibecraft.enforce_order_status_flow()
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

CREATE TRIGGER enforce_order_status_flow
    BEFORE UPDATE OF status ON vibecraft.orders
    FOR EACH ROW EXECUTE FUNCTION vibecraft.enforce_order_status_flow();

COMMENT ON FUNCTION vibecraft.order_status_transition_allowed(text, text) IS
    'Whether an order may move from one status to another (pending -> processing -> completed | failed | cancelled).';
COMMENT ON FUNCTION vibecraft.enforce_order_status_flow() IS
    'Trigger: rejects an invalid order status change with SQLSTATE 23514 and stamps completed_at.';

-- pg_dump keeps the rows users add. Reference tables hold rows installed by the
-- extension (is_system) that CREATE EXTENSION re-creates, so only the others are dumped.
DO $dump$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS rel,
               EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attname = 'is_system' AND NOT a.attisdropped) AS has_system_rows
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'r'
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t.rel,
            CASE WHEN t.has_system_rows THEN 'WHERE NOT is_system' ELSE '' END);
    END LOOP;
END
$dump$;

COMMENT ON FUNCTION vibecraft.set_updated_at() IS
    'Trigger: BEFORE UPDATE ... FOR EACH ROW, sets updated_at (or the column named by the trigger argument) to the transaction time. Native; a drop-in for contrib moddatetime.';
COMMENT ON FUNCTION vibecraft.uuid_generate_v7() IS 'A time-ordered UUID (version 7), strictly increasing within a connection; the key of log tables.';
