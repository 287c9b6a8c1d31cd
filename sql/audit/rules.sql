-- The audit trail: audit_logs, its archive, and turning auditing on for any table (src/triggers/audit.rs).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Turning the audit trail on and off for any table, and reading one row's history.
-- The trigger function itself is native: vibecraft.audit_trigger() (src/triggers/audit.rs).

CREATE OR REPLACE FUNCTION vibecraft.enable_audit(target regclass, excluded_columns text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing text;
    args text;
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'vibecraft.enable_audit: table must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF target = 'vibecraft.audit_logs'::regclass THEN
        RAISE EXCEPTION 'vibecraft.enable_audit: the audit trail cannot audit itself'
            USING ERRCODE = '22023';
    END IF;
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = target) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'vibecraft.enable_audit: % is not a table', target USING ERRCODE = '42809';
    END IF;
    -- A misspelt excluded column would silently write a secret to the trail: refuse it.
    SELECT string_agg(pg_catalog.quote_ident(c), ', ') INTO missing
      FROM pg_catalog.unnest(excluded_columns) AS c
     WHERE c IS NULL OR NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = target AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'vibecraft.enable_audit: % has no column(s) %', target, missing
            USING ERRCODE = '42703', HINT = 'excluded_columns must name existing columns.';
    END IF;
    SELECT string_agg(pg_catalog.quote_literal(c), ', ') INTO args FROM pg_catalog.unnest(excluded_columns) AS c;

    PERFORM vibecraft.disable_audit(target);
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER vibecraft_audit AFTER INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH ROW EXECUTE FUNCTION vibecraft.audit_trigger(%s)', target, coalesce(args, ''));
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER vibecraft_audit_truncate AFTER TRUNCATE ON %s '
        'FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.audit_trigger()', target);
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.disable_audit(target regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'vibecraft.disable_audit: table must not be NULL' USING ERRCODE = '22004';
    END IF;
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS vibecraft_audit ON %s', target);
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS vibecraft_audit_truncate ON %s', target);
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.audit_history(target regclass, record_id text)
RETURNS SETOF vibecraft.audit_logs
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.*
      FROM vibecraft.audit_logs a
      JOIN pg_catalog.pg_class c ON c.oid = target
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE a.resource_type = c.relname::text
       AND a.table_schema = n.nspname::text
       AND a.resource_id = record_id
     ORDER BY a.created_at DESC, a.id DESC
$$;

COMMENT ON FUNCTION vibecraft.enable_audit(regclass, text[]) IS
    'Record every INSERT, UPDATE (changed columns only), DELETE and TRUNCATE on a table in vibecraft.audit_logs. Secret columns (api_key_encrypted, key_hash, tokens, passwords) are always left out; excluded_columns adds more.';

COMMENT ON FUNCTION vibecraft.disable_audit(regclass) IS
    'Stop recording changes to a table in the audit trail (its history stays).';

COMMENT ON FUNCTION vibecraft.audit_history(regclass, text) IS
    'The audit trail of one row (by its primary key as text), newest first.';

-- Audited out of the box: who belongs where, money, keys and configuration. High-volume
-- logs are not (enable_audit them if you need to).
-- (api_keys without its usage counters, which change on every flush of key uses)
SELECT vibecraft.enable_audit('vibecraft.api_keys', ARRAY['usage_count', 'last_used_at']);
-- (users without their activity stamps; credit balances are not audited: their history
-- is the credit ledger)
SELECT vibecraft.enable_audit('vibecraft.users', ARRAY['last_login_at', 'last_activity_at']);

SELECT vibecraft.enable_audit(t::regclass)
  FROM unnest(ARRAY['vibecraft.organizations', 'vibecraft.project_members',
                    'vibecraft.api_configurations', 'vibecraft.orders',
                    'vibecraft.payments', 'vibecraft.system_settings', 'vibecraft.agents',
                    'vibecraft.models', 'vibecraft.canvases']) AS t;

COMMENT ON FUNCTION vibecraft.audit_trigger() IS
    'Trigger behind enable_audit: writes one vibecraft.audit_logs row per changed row (and per TRUNCATE). Its arguments name extra columns to leave out.';

CREATE POLICY admin_read ON vibecraft.audit_logs_archive FOR SELECT USING (vibecraft.is_admin());
-- The audit trail: staff everything, organization ADMINs their organization, users
-- their own actions. Only the service role writes application events; the audit
-- trigger writes as the table owner.
CREATE POLICY readers ON vibecraft.audit_logs FOR SELECT
    USING (vibecraft.is_service() OR vibecraft.is_admin()
           OR organization_id = ANY (vibecraft.org_ids_with_role('ADMIN'))
           OR user_id = vibecraft.current_user_id());

COMMENT ON TABLE vibecraft.audit_logs IS 'The audit trail written by enable_audit''s trigger (changed columns, never secrets). No foreign keys by design; old rows move to audit_logs_archive.';
COMMENT ON TABLE vibecraft.audit_logs_archive IS 'audit_logs rows moved here by archive_old_admin_logs.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.audit_history(regclass, text) TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.enable_audit(regclass, text[]) TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.disable_audit(regclass) TO vibecraft_service;
GRANT SELECT ON vibecraft.audit_logs TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.audit_logs_archive TO vibecraft_authenticated;
