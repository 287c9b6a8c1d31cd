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
CREATE OR REPLACE FUNCTION vibecraft.daily_maintenance()
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    report jsonb := '{}';
    n bigint;
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

    UPDATE vibecraft.api_keys SET is_active = false
     WHERE is_active AND revoked_at IS NULL AND expires_at <= now();
    GET DIAGNOSTICS n = ROW_COUNT;
    report := report || jsonb_build_object('expired_api_keys_deactivated', n);
    IF n > 0 THEN changed := array_append(changed, 'vibecraft.api_keys'); END IF;

    -- Each user's own history retention, where they turned auto_cleanup on.
    DELETE FROM vibecraft.prompt_history h
     USING vibecraft.user_preferences p
     WHERE p.user_id = h.user_id AND p.auto_cleanup
       AND h.created_at < now() - make_interval(days => p.max_history_days);
    GET DIAGNOSTICS n = ROW_COUNT;
    report := report || jsonb_build_object('history_rows_past_retention', n);
    IF n > 0 THEN changed := array_append(changed, 'vibecraft.prompt_history'); END IF;

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
-- and the slowest statements when pg_stat_statements is installed (its texts are
-- normalised: constants, and so secrets, are replaced by $n).
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
                       round(mean_exec_time::numeric, 3) AS mean_ms, rows, left(query, 300) AS query
                  FROM %I.pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 ORDER BY mean_exec_time DESC LIMIT 10) s', pgss_schema)
        INTO slowest;
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
    'For the DBA: database size; per table size, row estimate, live and dead tuples, scans; per index size and use; the slowest statements when pg_stat_statements is installed.';

COMMENT ON FUNCTION vibecraft.schedule_maintenance(text) IS
    'Register daily_maintenance and a VACUUM (ANALYZE) of the busy tables with pg_cron; says so plainly when pg_cron is not installed.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.daily_maintenance() TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.archive_old_admin_logs(interval) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.get_database_stats() TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.schedule_maintenance(text) TO vibecraft_service;
