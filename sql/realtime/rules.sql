-- Realtime: committed changes published with NOTIFY.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Realtime (Visual Prompt Builder): enable_realtime(table) publishes each committed change
-- with NOTIFY on the channel 'realtime:<schema>.<table>' (LISTEN "realtime:vibecraft.projects").
-- PostgreSQL delivers a notification only when the writing transaction commits, and never
-- for a rolled-back one. The payload is small and holds no row contents: table, op, id,
-- owner and the names of changed columns (secret columns left out), so a client fetches
-- the row itself through RLS. NOTIFY has no access control: any role that can connect
-- can LISTEN and see which ids changed and whose they are, and can NOTIFY a forged event;
-- so each event carries `at` (the commit's transaction time, ms since 1970) and `sig`, an
-- HMAC under a key derived from the JWT secret (src/realtime.rs), which a listener checks
-- with verify_realtime_event(channel, payload) before it acts on the event.

-- SECURITY DEFINER so that any writer of the table can publish, whatever it may execute.
CREATE OR REPLACE FUNCTION vibecraft.publish_change()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    row_now jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
    changed text[];
    event jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(array_agg(n.key ORDER BY n.key), '{}') INTO changed
          FROM jsonb_each(row_now) n
         WHERE n.value IS DISTINCT FROM (to_jsonb(OLD) -> n.key)
           AND n.key <> ALL (vibecraft.secret_column_names());
        IF changed = '{}' AND to_jsonb(OLD) = row_now THEN
            RETURN NULL; -- nothing changed
        END IF;
    END IF;
    event := jsonb_build_object(
        'table', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
        'op', lower(TG_OP),
        'id', row_now -> 'id',
        'owner', coalesce(row_now -> 'user_id', row_now -> 'owner_id', row_now -> 'created_by'),
        'changed', to_jsonb(changed),
        'at', pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.now()) * 1000)::bigint);
    PERFORM pg_notify(TG_ARGV[0], (event || jsonb_build_object(
        'sig', vibecraft.realtime_signature(TG_ARGV[0], event::text)))::text);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.enable_realtime(target regclass)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    channel text;
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'vibecraft.enable_realtime: table must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = target) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'vibecraft.enable_realtime: % is not a table', target USING ERRCODE = '42809';
    END IF;
    SELECT left('realtime:' || n.nspname || '.' || c.relname, 63) INTO channel
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target;
    PERFORM vibecraft.disable_realtime(target);
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER vibecraft_realtime AFTER INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH ROW EXECUTE FUNCTION vibecraft.publish_change(%L)', target, channel);
    RETURN channel;
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.disable_realtime(target regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'vibecraft.disable_realtime: table must not be NULL' USING ERRCODE = '22004';
    END IF;
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS vibecraft_realtime ON %s', target);
END
$$;

COMMENT ON FUNCTION vibecraft.publish_change() IS
    'Trigger of enable_realtime: NOTIFY with {table, op, id, owner, changed, at, sig} (no row contents, no secret column names; sig is checked by verify_realtime_event).';

-- Whether a payload received on a channel is an event the database sent there, exactly
-- as it sent it: the text must be the event's own (jsonb) spelling, so a payload with,
-- say, a second "id" key that a listener's parser would read differently is refused.
CREATE OR REPLACE FUNCTION vibecraft.verify_realtime_event(channel text, payload text)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e jsonb;
BEGIN
    BEGIN
        e := payload::jsonb;
    EXCEPTION WHEN invalid_text_representation THEN
        RETURN false;
    END;
    RETURN coalesce(e::text OPERATOR(pg_catalog.=) payload
                    AND vibecraft.realtime_signature_matches(channel, (e OPERATOR(pg_catalog.-) 'sig'::text)::text,
                                                             e OPERATOR(pg_catalog.->>) 'sig'), false);
END
$$;

COMMENT ON FUNCTION vibecraft.verify_realtime_event(text, text) IS
    'True when payload is an event that publish_change sent on channel: its sig is the HMAC of the rest under a key derived from vibecraft.jwt_secret. NOTIFY lets anyone send anything, so check each event before acting on it, and drop events whose at (ms since 1970) is old, to refuse replays.';
COMMENT ON FUNCTION vibecraft.realtime_signature(text, text) IS
    'The signature publish_change adds to an event; callable by the extension owner only (whoever can call it can forge events).';
COMMENT ON FUNCTION vibecraft.realtime_signature_matches(text, text, text) IS
    'Constant-time check of an event signature; verify_realtime_event calls it.';

COMMENT ON FUNCTION vibecraft.enable_realtime(regclass) IS
    'Publish every committed change of a table on the channel it returns (''realtime:<schema>.<table>''): table, op, id, owner, changed columns. Payloads carry no row contents; any role that can connect can LISTEN.';

COMMENT ON FUNCTION vibecraft.disable_realtime(regclass) IS 'Stop publishing a table''s changes.';
COMMENT ON FUNCTION vibecraft.secret_column_names() IS
    'Column names that never leave the database in an audit row or a realtime payload.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.enable_realtime(regclass) TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.disable_realtime(regclass) TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.verify_realtime_event(text, text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.realtime_signature_matches(text, text, text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
