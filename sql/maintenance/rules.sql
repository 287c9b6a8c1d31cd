-- Upkeep: archiving, the daily run, database statistics, pg_cron scheduling.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Upkeep: archiving old logs in batches, the daily maintenance run, database statistics
-- for the DBA, and scheduling with pg_cron. All for the service role (daily_maintenance
-- and archiving also for admins).

-- Move rows of one log table older than cutoff into its archive, batch_size rows per
-- statement, walking the primary key so that no batch re-reads what an earlier one
-- moved. Old log rows are never updated, so the row locks this takes are locks nobody
-- waits for; writers of new rows go on meanwhile.
CREATE OR REPLACE FUNCTION vibecraft.archive_log_rows(source regclass, archive regclass, cutoff timestamptz, batch_size integer DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    last_id uuid := '00000000-0000-0000-0000-000000000000';
    next_id uuid;
    moved bigint;
    total bigint := 0;
BEGIN
    -- Only the two log tables, each into its own archive: this deletes what it moves.
    IF (source, archive) NOT IN (('vibecraft.admin_logs'::regclass, 'vibecraft.admin_logs_archive'::regclass),
                                 ('vibecraft.audit_logs'::regclass, 'vibecraft.audit_logs_archive'::regclass))
       OR batch_size IS NULL OR batch_size < 1 OR cutoff IS NULL THEN
        RAISE EXCEPTION 'vibecraft.archive_log_rows: only admin_logs and audit_logs move, into their archives, with a cutoff and a positive batch size'
            USING ERRCODE = '22023';
    END IF;
    LOOP
        EXECUTE format(
            'WITH batch AS (SELECT s.id FROM %1$s s WHERE s.id > $1 AND s.created_at < $2 ORDER BY s.id LIMIT $3),
                  moved AS (DELETE FROM %1$s s USING batch b WHERE s.id = b.id RETURNING s.*),
                  archived AS (INSERT INTO %2$s SELECT * FROM moved RETURNING id)
             SELECT count(*), (SELECT b.id FROM batch b ORDER BY b.id DESC LIMIT 1) FROM archived',
            source, archive)
        INTO moved, next_id
        USING last_id, cutoff, batch_size;
        EXIT WHEN moved = 0;
        total := total + moved;
        last_id := next_id;
    END LOOP;
    RETURN total;
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.archive_old_admin_logs(older_than interval DEFAULT '90 days')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM vibecraft.require_staff('archive_old_admin_logs');
    IF older_than IS NULL OR older_than < interval '1 day' THEN
        RAISE EXCEPTION 'vibecraft.archive_old_admin_logs: older_than must be at least 1 day, not %', coalesce(older_than::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    RETURN vibecraft.archive_log_rows('vibecraft.admin_logs', 'vibecraft.admin_logs_archive', now() - older_than)
         + vibecraft.archive_log_rows('vibecraft.audit_logs', 'vibecraft.audit_logs_archive', now() - older_than);
END
$$;

-- The daily run. Every step reports what it did; tables it changed are analysed.
-- VACUUM cannot run inside a function: schedule_maintenance adds a pg_cron job for it.
-- On a Citus coordinator its statements reach every shard; one transaction that changes
-- distributed tables and then reference tables (api_keys) must change them over one
-- connection per node (Citus' sequential mode; the setting means nothing elsewhere).
CREATE OR REPLACE FUNCTION vibecraft.daily_maintenance()
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET citus.multi_shard_modify_mode = 'sequential'
AS $$
DECLARE
    report jsonb := '{}';
    n bigint;
    m bigint;
    keep record;
    archive_days integer;
    started timestamptz := clock_timestamp();
    changed text[] := '{}';
    t text;
BEGIN
    PERFORM vibecraft.require_staff('daily_maintenance');

    n := vibecraft.cleanup_expired_downloads();
    report := report || jsonb_build_object('expired_downloads', n);
    IF n > 0 THEN changed := array_append(changed, 'vibecraft.downloads'); END IF;

    DELETE FROM vibecraft.sessions WHERE expires < now();
    GET DIAGNOSTICS n = ROW_COUNT;
    report := report || jsonb_build_object('expired_sessions', n);
    IF n > 0 THEN changed := array_append(changed, 'vibecraft.sessions'); END IF;

    DELETE FROM vibecraft.verification_tokens WHERE expires < now();
    GET DIAGNOSTICS n = ROW_COUNT;
    report := report || jsonb_build_object('expired_verification_tokens', n);
    IF n > 0 THEN changed := array_append(changed, 'vibecraft.verification_tokens'); END IF;

    -- Rows a user holds locked (it may SELECT ... FOR UPDATE what it may update) are left
    -- for the next run rather than waited for: no user can stall the daily run.
    UPDATE vibecraft.api_keys SET is_active = false
     WHERE id IN (SELECT k.id FROM vibecraft.api_keys k
                   WHERE k.is_active AND k.revoked_at IS NULL AND k.expires_at <= now()
                     FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS n = ROW_COUNT;
    report := report || jsonb_build_object('expired_api_keys_deactivated', n);
    IF n > 0 THEN changed := array_append(changed, 'vibecraft.api_keys'); END IF;

    -- Each user's own history retention, where they turned auto_cleanup on. Citus locks
    -- rows of one shard per statement only (FOR UPDATE): there, one user at a time.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'citus') THEN
        n := 0;
        FOR keep IN SELECT p.user_id, p.max_history_days FROM vibecraft.user_preferences p WHERE p.auto_cleanup LOOP
            DELETE FROM vibecraft.prompt_history
             WHERE user_id = keep.user_id
               AND id IN (SELECT h.id FROM vibecraft.prompt_history h
                           WHERE h.user_id = keep.user_id
                             AND h.created_at < now() - make_interval(days => keep.max_history_days)
                             FOR UPDATE SKIP LOCKED);
            GET DIAGNOSTICS m = ROW_COUNT;
            n := n + m;
        END LOOP;
    ELSE
        DELETE FROM vibecraft.prompt_history
         WHERE (id, user_id) IN (SELECT h.id, h.user_id FROM vibecraft.prompt_history h
                        JOIN vibecraft.user_preferences p ON p.user_id = h.user_id
                       WHERE p.auto_cleanup AND h.created_at < now() - make_interval(days => p.max_history_days)
                         FOR UPDATE OF h SKIP LOCKED);
        GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    report := report || jsonb_build_object('history_rows_past_retention', n);
    IF n > 0 THEN changed := array_append(changed, 'vibecraft.prompt_history'); END IF;

    -- On a Citus coordinator, first the audit rows the workers' shards recorded, so that
    -- they are archived here with the rest (nothing elsewhere).
    report := report || jsonb_build_object('audit_rows_collected', vibecraft.collect_audit_rows());

    SELECT (s.value #>> '{}')::integer INTO archive_days
      FROM vibecraft.system_settings s WHERE s.key = 'maintenance.archive_after_days';
    archive_days := coalesce(archive_days, 90);
    n := vibecraft.archive_old_admin_logs(make_interval(days => archive_days));
    report := report || jsonb_build_object('log_rows_archived', n, 'archive_after_days', archive_days);
    IF n > 0 THEN
        changed := changed || ARRAY['vibecraft.admin_logs', 'vibecraft.audit_logs', 'vibecraft.admin_logs_archive', 'vibecraft.audit_logs_archive'];
    END IF;

    report := report || jsonb_build_object(
        'api_key_uses_flushed', vibecraft.flush_api_key_usage(),
        'rate_limit_slots_in_use', vibecraft.compact_rate_limits());

    -- CONCURRENTLY once a view has data, so readers are never blocked.
    FOR t IN SELECT c.oid::regclass::text FROM pg_class c
              WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'm' ORDER BY 1 LOOP
        IF (SELECT c.relispopulated FROM pg_class c WHERE c.oid = t::regclass) THEN
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', t);
        ELSE
            EXECUTE format('REFRESH MATERIALIZED VIEW %s', t);
        END IF;
    END LOOP;
    report := report || jsonb_build_object('materialized_views_refreshed',
        (SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'm'));

    FOREACH t IN ARRAY changed LOOP
        EXECUTE format('ANALYZE %s', t::regclass);
    END LOOP;
    report := report || jsonb_build_object('analyzed', to_jsonb(changed),
        'seconds', round(extract(epoch FROM clock_timestamp() - started)::numeric, 3));

    INSERT INTO vibecraft.admin_logs (admin_user_id, action, target_type, details)
    VALUES (vibecraft.current_user_id(), 'daily_maintenance', 'system', report);
    RETURN report;
END
$$;

-- For the DBA: sizes, row estimates, dead tuples and index use of vibecraft's tables,
-- and the slowest statements when pg_stat_statements is installed. Statement texts go
-- to superusers only, and never a utility statement's (pg_stat_statements keeps those
-- verbatim: ALTER ROLE ... PASSWORD, SET of a secret); others see ids and figures.
CREATE OR REPLACE FUNCTION vibecraft.get_database_stats()
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pgss_schema name;
    slowest jsonb;
BEGIN
    PERFORM vibecraft.require_staff('get_database_stats');
    SELECT n.nspname INTO pgss_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_stat_statements';
    IF pgss_schema IS NOT NULL THEN
        EXECUTE format(
            'SELECT coalesce(jsonb_agg(s), ''[]'') FROM (
                SELECT queryid, calls, round(total_exec_time::numeric, 3) AS total_ms,
                       round(mean_exec_time::numeric, 3) AS mean_ms, rows,
                       CASE WHEN $1 AND query ~* ''^[[:space:](]*(select|insert|update|delete|with|values|table|merge)[[:space:]]''
                            THEN left(query, 300) END AS query
                  FROM %I.pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 ORDER BY mean_exec_time DESC LIMIT 10) s', pgss_schema)
        INTO slowest
        USING (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user);
    END IF;
    RETURN jsonb_build_object(
        'database', current_database(),
        'database_size_bytes', pg_database_size(current_database()),
        'tables', (SELECT jsonb_agg(jsonb_build_object(
                        'table', s.relname, 'total_bytes', pg_total_relation_size(s.relid),
                        'table_bytes', pg_relation_size(s.relid), 'row_estimate', c.reltuples::bigint,
                        'live_tuples', s.n_live_tup, 'dead_tuples', s.n_dead_tup,
                        'seq_scans', s.seq_scan, 'index_scans', s.idx_scan,
                        'last_vacuum', greatest(s.last_vacuum, s.last_autovacuum),
                        'last_analyze', greatest(s.last_analyze, s.last_autoanalyze))
                     ORDER BY pg_total_relation_size(s.relid) DESC)
                     FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname = 'vibecraft'),
        'indexes', (SELECT jsonb_agg(jsonb_build_object(
                         'index', s.indexrelname, 'table', s.relname, 'bytes', pg_relation_size(s.indexrelid),
                         'scans', s.idx_scan, 'tuples_read', s.idx_tup_read)
                      ORDER BY s.idx_scan, pg_relation_size(s.indexrelid) DESC)
                      FROM pg_stat_user_indexes s WHERE s.schemaname = 'vibecraft'),
        'slowest_statements', slowest,
        'pg_stat_statements', CASE WHEN pgss_schema IS NULL
                                   THEN 'not installed: CREATE EXTENSION pg_stat_statements (it must be in shared_preload_libraries)'
                                   ELSE 'installed' END);
END
$$;

-- The tables vibecraft keeps up: its own, and every table with its audit trail.
CREATE OR REPLACE FUNCTION vibecraft.maintained_tables()
RETURNS SETOF regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass FROM pg_catalog.pg_class c
     WHERE c.relkind = 'r'
       AND (c.relnamespace = 'vibecraft'::regnamespace
            OR EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'vibecraft_audit'))
     ORDER BY c.relnamespace, c.relname
$$;

-- ANALYZE runs inside a transaction, so this one does the work itself and returns
-- when it is done.
CREATE OR REPLACE FUNCTION vibecraft.analyze_all_tables()
RETURNS TABLE (table_name text, last_analyze timestamptz, live_tuples bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regclass;
BEGIN
    PERFORM vibecraft.require_staff('analyze_all_tables');
    FOR t IN SELECT m FROM vibecraft.maintained_tables() m LOOP
        EXECUTE pg_catalog.format('ANALYZE %s', t);
    END LOOP;
    PERFORM pg_catalog.pg_stat_clear_snapshot();
    RETURN QUERY
        SELECT m::text, greatest(s.last_analyze, s.last_autoanalyze), s.n_live_tup
          FROM vibecraft.maintained_tables() m JOIN pg_catalog.pg_stat_all_tables s ON s.relid = m;
END
$$;

-- VACUUM cannot run inside a transaction or a function, so a background worker of
-- vibecraft's own runs it (src/background.rs). wait => true (the default) returns once
-- it is done, with each table's last vacuum and dead tuples; wait => false returns at
-- once (watch pg_stat_user_tables.last_vacuum). Called inside the caller's transaction
-- it works too: the worker's VACUUM is a transaction of its own, and it can remove only
-- rows that every snapshot, the caller's included, sees as dead.
CREATE OR REPLACE FUNCTION vibecraft.vacuum_all_tables(also_analyze boolean DEFAULT true, wait boolean DEFAULT true)
RETURNS TABLE (table_name text, last_vacuum timestamptz, dead_tuples bigint, live_tuples bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM vibecraft.require_staff('vacuum_all_tables');
    IF also_analyze IS NULL OR wait IS NULL THEN
        RAISE EXCEPTION 'vibecraft.vacuum_all_tables: also_analyze and wait must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- One at a time per database: each takes a slot of max_worker_processes.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                WHERE a.backend_type = 'vibecraft vacuum' AND a.datname = pg_catalog.current_database()) THEN
        RAISE EXCEPTION 'vibecraft.vacuum_all_tables: a vacuum of this database is running already'
            USING ERRCODE = '55006', HINT = 'Wait for it: pg_stat_user_tables.last_vacuum shows when each table was done.';
    END IF;
    IF NOT vibecraft.vacuum_in_background(also_analyze, wait) THEN
        RAISE EXCEPTION 'vibecraft.vacuum_all_tables: no background worker could be started'
            USING ERRCODE = '53000',
                  HINT = 'vibecraft must be in shared_preload_libraries, the server not in recovery, and max_worker_processes must have a free slot; or run VACUUM (ANALYZE) from psql or pg_cron (vibecraft.schedule_maintenance()).';
    END IF;
    PERFORM pg_catalog.pg_stat_clear_snapshot();
    RETURN QUERY
        SELECT m::text, greatest(s.last_vacuum, s.last_autovacuum), s.n_dead_tup, s.n_live_tup
          FROM vibecraft.maintained_tables() m JOIN pg_catalog.pg_stat_all_tables s ON s.relid = m;
END
$$;

COMMENT ON FUNCTION vibecraft.maintained_tables() IS
    'The tables vibecraft keeps up: those of schema vibecraft and every table with its audit trail (enable_audit).';
COMMENT ON FUNCTION vibecraft.analyze_all_tables() IS
    'ANALYZE every table of vibecraft.maintained_tables(), then return each with its last analyze and live tuples. Admins and the service role.';
COMMENT ON FUNCTION vibecraft.vacuum_all_tables(boolean, boolean) IS
    'VACUUM (ANALYZE by default) every table of vibecraft.maintained_tables() in a background worker, since VACUUM cannot run in a transaction; wait => true returns once it is done, with each table''s last vacuum, dead and live tuples; wait => false returns at once. One at a time per database (55006 while one runs); 53000 when no worker can be started. Admins and the service role.';
COMMENT ON FUNCTION vibecraft.vacuum_in_background(boolean, boolean) IS
    'Internal to vacuum_all_tables: start the VACUUM worker; false when none could be started.';

-- Timeouts for a login role of the API (docs/dba.md, section 3): a stalled or careless
-- client then gives its locks back. Runs as the caller (ALTER ROLE needs CREATEROLE
-- or superuser). A session may still SET them otherwise: against a hostile session the
-- LOCK TABLE guard (src/table_locks.rs) and the out-of-transaction usage flush protect.
CREATE OR REPLACE FUNCTION vibecraft.apply_role_timeouts(
    login_role regrole,
    statement_timeout interval DEFAULT '30 seconds',
    lock_timeout interval DEFAULT '5 seconds',
    idle_in_transaction_session_timeout interval DEFAULT '60 seconds')
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    name text := (SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid = login_role);
    setting record;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'vibecraft.apply_role_timeouts: login_role must not be NULL' USING ERRCODE = '22004';
    END IF;
    FOR setting IN SELECT * FROM (VALUES ('statement_timeout', statement_timeout), ('lock_timeout', lock_timeout),
                                         ('idle_in_transaction_session_timeout', idle_in_transaction_session_timeout)) v(k, v) LOOP
        IF setting.v IS NULL OR setting.v <= interval '0' THEN
            RAISE EXCEPTION 'vibecraft.apply_role_timeouts: % must be a positive interval', setting.k USING ERRCODE = '22023';
        END IF;
        EXECUTE pg_catalog.format('ALTER ROLE %I SET %s = %L', name, setting.k,
                                  (pg_catalog.date_part('epoch', setting.v) * 1000)::bigint || 'ms');
    END LOOP;
    RETURN pg_catalog.format('%s: statement_timeout %s, lock_timeout %s, idle_in_transaction_session_timeout %s (from its next login)',
                             name, statement_timeout, lock_timeout, idle_in_transaction_session_timeout);
END
$$;

COMMENT ON FUNCTION vibecraft.apply_role_timeouts(regrole, interval, interval, interval) IS
    'For the DBA: set statement_timeout, lock_timeout and idle_in_transaction_session_timeout on a login role of the API (defaults 30 s, 5 s, 60 s), from its next login. Needs CREATEROLE or superuser.';

-- Register the daily run and a nightly VACUUM with pg_cron, when it is installed.
CREATE OR REPLACE FUNCTION vibecraft.schedule_maintenance(cron text DEFAULT '17 3 * * *')
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    vacuum_tables text;
BEGIN
    IF NOT vibecraft.is_service() THEN
        RAISE EXCEPTION 'vibecraft.schedule_maintenance: the service role only' USING ERRCODE = '42501';
    END IF;
    IF cron IS NULL OR cron !~ '^\s*(\S+\s+){4}\S+\s*$' THEN
        RAISE EXCEPTION 'vibecraft.schedule_maintenance: cron must be a five-field cron expression such as ''17 3 * * *'', not %',
            coalesce(quote_literal(cron), 'NULL') USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE NOTICE 'pg_cron is not installed: nothing was scheduled';
        RETURN 'pg_cron is not installed, so nothing was scheduled. Install it (postgresql-15-cron, shared_preload_libraries = ''pg_cron'', CREATE EXTENSION pg_cron) and call this again, or run SELECT vibecraft.daily_maintenance() and VACUUM (ANALYZE) from your own scheduler.';
    END IF;
    SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname) INTO vacuum_tables
      FROM pg_class c
     WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'r'
       AND c.relname IN ('audit_logs', 'admin_logs', 'credit_ledger', 'api_usage_logs', 'prompt_history', 'downloads', 'sessions');
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING 'vibecraft-daily-maintenance', cron, 'SELECT vibecraft.daily_maintenance()';
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING 'vibecraft-vacuum', cron, 'VACUUM (ANALYZE) ' || vacuum_tables;
    RETURN format('scheduled with pg_cron at ''%s'': vibecraft-daily-maintenance and vibecraft-vacuum (%s)', cron, vacuum_tables);
END
$$;

COMMENT ON FUNCTION vibecraft.archive_log_rows(regclass, regclass, timestamptz, integer) IS
    'Move rows older than cutoff from a log table to its archive in batches; returns how many. Used by archive_old_admin_logs.';

COMMENT ON FUNCTION vibecraft.archive_old_admin_logs(interval) IS
    'Move admin_logs and audit_logs rows older than older_than into admin_logs_archive and audit_logs_archive, in batches of 10,000; returns how many. Admins and the service role.';

COMMENT ON FUNCTION vibecraft.daily_maintenance() IS
    'The daily run: expire downloads, sessions, verification tokens and API keys; delete history past each user''s retention (auto_cleanup); archive old logs; flush key usage; compact rate-limit state; refresh materialized views; ANALYZE what changed. Returns a report (also written to admin_logs).';

COMMENT ON FUNCTION vibecraft.get_database_stats() IS
    'For the DBA: database size; per table size, row estimate, live and dead tuples, scans; per index size and use; the slowest statements when pg_stat_statements is installed (their texts for superusers only, never a utility statement''s).';

COMMENT ON FUNCTION vibecraft.schedule_maintenance(text) IS
    'Register daily_maintenance and a VACUUM (ANALYZE) of the busy tables with pg_cron; says so plainly when pg_cron is not installed.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.daily_maintenance() TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.archive_old_admin_logs(interval) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.get_database_stats() TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.analyze_all_tables() TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.vacuum_all_tables(boolean, boolean) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.schedule_maintenance(text) TO vibecraft_service;
