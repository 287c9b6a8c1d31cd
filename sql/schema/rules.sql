-- Rules every vibecraft table follows, applied once every room has created its objects:
-- row-level security enabled and forced (with the service role's policy and the
-- soft-delete filter), updated_at kept by the native trigger, pg_dump keeping the rows
-- users add, and the schema's privileges. Re-runnable: every upgrade runs it again.
--
-- Shorthands the rooms' policies use (each helper reads once per statement, then answers from memory):
--   own(col)   col BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
--              the caller's own rows; every row for admins and the service role
--   project(r) project_id = ANY (vibecraft.project_ids_with_role(r))
--   org(r)     organization_id = ANY (vibecraft.org_ids_with_role(r))
--   staff      vibecraft.is_service() OR vibecraft.is_admin()
-- Superusers and the table owner bypass row-level security, as always.

-- Soft delete: whoever may delete a row sets deleted_at (through PostgREST a PATCH).
-- The database stamps the time itself, and a soft-deleted row cannot be changed or
-- restored but by staff. (Which callers may delete which rows: the rooms' policies and
-- guards.)
CREATE OR REPLACE FUNCTION vibecraft.stamp_soft_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF vibecraft.writes_as_service() OR vibecraft.is_admin() THEN
        RETURN NEW;
    END IF;
    IF OLD.deleted_at IS NOT NULL THEN
        PERFORM vibecraft.refuse_write(TG_TABLE_NAME, 'a deleted row can be restored by staff only');
    END IF;
    IF NEW.deleted_at IS NOT NULL THEN
        NEW.deleted_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION vibecraft.stamp_soft_delete() IS
    'Trigger: a soft delete (deleted_at set) is stamped with the transaction time; a deleted row changes only through staff.';

-- Row-level security on every table, enabled and forced. Members of vibecraft_service
-- get a `service_all` policy on every table; soft-deleted rows (deleted_at set) are
-- hidden from everyone but staff by a RESTRICTIVE policy, except in the transaction that
-- deleted them: PostgreSQL checks the new row of an UPDATE against the SELECT policies,
-- so `UPDATE ... SET deleted_at = now() WHERE id = ...` must still see it.
DO $rls$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        -- (An upgrade drops every policy first: sql/migrations/before_rules.sql.)
        EXECUTE pg_catalog.format('CREATE POLICY service_all ON %s TO vibecraft_service USING (true) WITH CHECK (true)', t);
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = t AND a.attname = 'deleted_at' AND NOT a.attisdropped) THEN
            EXECUTE pg_catalog.format(
                'CREATE POLICY hide_soft_deleted ON %s AS RESTRICTIVE FOR SELECT USING '
                '(deleted_at IS NULL OR deleted_at = pg_catalog.now() '
                'OR vibecraft.is_service() OR vibecraft.is_admin())', t);
            -- ... and frozen: an UPDATE does not reach them (a blind UPDATE, with no WHERE
            -- clause to apply the SELECT policies, included).
            EXECUTE pg_catalog.format(
                'CREATE POLICY soft_deleted_frozen ON %s AS RESTRICTIVE FOR UPDATE USING '
                '(deleted_at IS NULL OR vibecraft.is_service() OR vibecraft.is_admin()) '
                'WITH CHECK (deleted_at IS NULL OR deleted_at = pg_catalog.now() '
                'OR vibecraft.is_service() OR vibecraft.is_admin())', t);
            EXECUTE pg_catalog.format(
                'CREATE OR REPLACE TRIGGER stamp_soft_delete BEFORE UPDATE OF deleted_at ON %s '
                'FOR EACH ROW EXECUTE FUNCTION vibecraft.stamp_soft_delete()', t);
        END IF;
    END LOOP;
END
$rls$;

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
            'CREATE OR REPLACE TRIGGER set_updated_at BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION vibecraft.set_updated_at()', t);
    END LOOP;
END
$attach$;

-- vibecraft.guard_public_write() (native, src/triggers/public_writes.rs) on every table
-- the anonymous or signed-in roles may write: a size limit per row, and a rate limit on
-- anonymous inserts. Tables they may not write do without it.
DO $guard$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS rel,
               bool_or(pg_catalog.has_table_privilege(r.role, c.oid, 'INSERT')
                       OR pg_catalog.has_any_column_privilege(r.role, c.oid, 'INSERT, UPDATE')) AS writable
          FROM pg_catalog.pg_class c
         CROSS JOIN (VALUES ('vibecraft_anon'), ('vibecraft_authenticated')) AS r(role)
         WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'r'
         GROUP BY c.oid
         ORDER BY c.oid::regclass::text
    LOOP
        IF t.writable THEN
            EXECUTE pg_catalog.format(
                'CREATE OR REPLACE TRIGGER guard_public_write BEFORE INSERT OR UPDATE ON %s '
                'FOR EACH ROW EXECUTE FUNCTION vibecraft.guard_public_write()', t.rel);
        ELSE
            EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS guard_public_write ON %s', t.rel);
        END IF;
    END LOOP;
END
$guard$;

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

COMMENT ON FUNCTION vibecraft.restoring_dump() IS
    'Whether this session is loading a dump (row_security = off, as pg_dump''s scripts set it, for a superuser or BYPASSRLS session user): the triggers that derive rows (owner membership, statistics totals, audit trail) stay quiet, since the dump holds those rows.';
COMMENT ON SCHEMA vibecraft IS
    'vibecraft: schema, business rules and security helpers of an AI-product backend';
COMMENT ON FUNCTION vibecraft.guard_public_write() IS
    'Trigger on every table the anonymous and signed-in roles may write: a row holds at most vibecraft.max_row_bytes (signed in) or vibecraft.max_anonymous_row_bytes (anonymous) bytes, and anonymous inserts follow the anon_insert:<table> rule of vibecraft.rate_limit_rules; the service role is not held to either.';
COMMENT ON FUNCTION vibecraft.set_updated_at() IS
    'Trigger: BEFORE UPDATE ... FOR EACH ROW, sets updated_at (or the column named by the trigger argument) to the transaction time. Native; a drop-in for contrib moddatetime.';
COMMENT ON FUNCTION vibecraft.uuid_generate_v7() IS 'A time-ordered UUID (version 7), strictly increasing within a connection; the key of log tables.';
COMMENT ON FUNCTION vibecraft.version() IS
    'The vibecraft library version and build profile, e.g. ''0.1.0 (release)''.';
COMMENT ON FUNCTION vibecraft.health_check() IS
    'What a DBA checks first: installed vs available extension version, server version, whether the JWT secret and keyring are configured (never their values), and whether vibecraft is in shared_preload_libraries.';
COMMENT ON FUNCTION vibecraft.typescript_types() IS
    'TypeScript types of schema vibecraft, from the live catalog: Row/Insert/Update/Relationships per table and view, Args/Returns per function the vibecraft roles may call, and Enums from CHECK (col IN (...)) lists; Supabase''s Database shape. Save the result as a .ts file after each install or upgrade.';

-- Privileges. PUBLIC gets nothing: every room grants its own tables and functions to
-- the vibecraft roles by name (roles.sql creates them), so a new table or function is
-- reachable by no one until its room says who may use it.
REVOKE ALL ON SCHEMA vibecraft FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA vibecraft FROM PUBLIC;
GRANT USAGE ON SCHEMA vibecraft TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.version() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.health_check() TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.uuid_generate_v7() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
-- Write-rule triggers that run as the writer ask it (it tells only whether this session
-- is loading a dump, which only a superuser or BYPASSRLS session can be).
GRANT EXECUTE ON FUNCTION vibecraft.restoring_dump() TO vibecraft_authenticated, vibecraft_service;
-- Types for application code: they describe the catalog, which every role can read anyway.
GRANT EXECUTE ON FUNCTION vibecraft.typescript_types() TO vibecraft_authenticated, vibecraft_service;
-- The service role is the application's backend: every statement on every table,
-- including the analytics materialized views (which have no RLS).
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA vibecraft TO vibecraft_service;
