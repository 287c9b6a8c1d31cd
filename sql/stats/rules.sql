-- Statistics: running totals, dashboards, and the analytics materialized views.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Dashboards (Creo) and analytics materialized views (PromptCraft).
-- The dashboards are security_invoker views: each caller sees the rows RLS lets it see.
-- Materialized views cannot carry RLS, so they are granted to the service role only.

-- One row per user whose balance the caller may see (its own; staff: everyone's). It
-- starts from the balance and asks every table for the balance's user_id: on Citus that
-- is a distributed table's distribution column, so each row is one shard's work.
CREATE OR REPLACE VIEW vibecraft.user_dashboard WITH (security_invoker = true) AS
SELECT u.id AS user_id,
       u.email,
       u.full_name,
       b.credits,
       b.credits_spent,
       u.subscription_plan,
       u.subscription_status,
       (SELECT count(*) FROM vibecraft.orders o WHERE o.user_id = b.user_id) AS total_orders,
       (SELECT count(*) FROM vibecraft.orders o WHERE o.user_id = b.user_id AND o.status = 'completed') AS completed_orders,
       (SELECT coalesce(sum(p.amount - p.refund_amount), 0) FROM vibecraft.payments p
         WHERE p.user_id = b.user_id AND p.status IN ('succeeded', 'partially_refunded')) AS total_spent,
       (SELECT count(*) FROM vibecraft.downloads d
         WHERE d.user_id = b.user_id AND d.is_active AND (d.expires_at IS NULL OR d.expires_at > now())) AS active_downloads,
       (SELECT count(*) FROM vibecraft.projects pr WHERE pr.user_id = b.user_id AND pr.deleted_at IS NULL) AS projects_owned,
       -- The running totals get_user_stats reads, so both show the same numbers.
       coalesce((SELECT t.prompts FROM vibecraft.user_stat_totals t WHERE t.user_id = b.user_id), 0) AS prompts,
       (SELECT count(*) FROM vibecraft.api_keys k
         WHERE k.user_id = b.user_id AND k.is_active AND k.revoked_at IS NULL
           AND (k.expires_at IS NULL OR k.expires_at > now())) AS active_api_keys,
       greatest(u.last_activity_at, u.last_login_at) AS last_activity_at
  FROM vibecraft.credit_balances b
  JOIN vibecraft.users u ON u.id = b.user_id
 WHERE u.deleted_at IS NULL;

CREATE OR REPLACE VIEW vibecraft.admin_dashboard WITH (security_invoker = true) AS
SELECT (SELECT count(*) FROM vibecraft.users WHERE deleted_at IS NULL) AS total_users,
       (SELECT count(*) FROM vibecraft.users WHERE deleted_at IS NULL AND status = 'ACTIVE') AS active_users,
       (SELECT count(*) FROM vibecraft.organizations WHERE deleted_at IS NULL) AS organizations,
       (SELECT count(*) FROM vibecraft.orders) AS total_orders,
       (SELECT count(*) FROM vibecraft.orders WHERE status IN ('pending', 'processing')) AS open_orders,
       (SELECT coalesce(sum(amount - refund_amount), 0) FROM vibecraft.payments
         WHERE status IN ('succeeded', 'partially_refunded')) AS revenue,
       (SELECT coalesce(sum(b.credits), 0) FROM vibecraft.credit_balances b
          JOIN vibecraft.users u ON u.id = b.user_id WHERE u.deleted_at IS NULL) AS credits_outstanding,
       (SELECT count(*) FROM vibecraft.api_usage_logs WHERE created_at > now() - interval '1 day') AS api_calls_24h,
       (SELECT count(*) FROM vibecraft.error_logs WHERE created_at > now() - interval '1 day') AS errors_24h;

-- Statistics totals: users read their own; the triggers in stats.sql keep them.
CREATE POLICY own_read ON vibecraft.user_stat_totals FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

CREATE POLICY own_read ON vibecraft.user_provider_totals FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

-- Statistics. get_user_stats reads running totals (credit_balances.credits_spent, kept by
-- deduct_credits; user_stat_totals and user_provider_totals, kept by the statement-level
-- triggers below), so its cost does not grow with a user's history. The few per-user
-- lists it still counts (orders, downloads, projects, keys) are small and indexed.
-- vibecraft.recount_user_stats gives the same answer the slow way; the integrity check
-- compares the totals with a recount, and rebuild_stat_totals() recomputes them.

-- Prompt counts per user. One upsert per statement and user, in user order so that two
-- statements touching the same users lock their totals rows in the same order.
-- On a Citus worker the trigger fires on a shard of prompt_history, whose rows' totals
-- are in the co-located shard of user_stat_totals on the same node; a query of the
-- distributed table from there cannot see the statement's transition tables, so that
-- shard is written by name (the same statements, run with EXECUTE).
CREATE OR REPLACE FUNCTION vibecraft.count_prompts()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shard text;
BEGIN
    IF vibecraft.restoring_dump() THEN
        RETURN NULL;  -- the dump holds the totals as they were
    END IF;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'prompt_history' THEN
        -- Every row of a shard hashes into the shard's range, so any one names the
        -- co-located totals shard (a TRUNCATE has no rows: its totals shard by index).
        -- (Each branch names only the transition tables its event has.)
        IF TG_OP = 'TRUNCATE' THEN
            shard := vibecraft.citus_colocated_shard(TG_TABLE_NAME, 'vibecraft.user_stat_totals');
        ELSIF TG_OP = 'DELETE' THEN
            shard := vibecraft.citus_local_shard('vibecraft.user_stat_totals', (SELECT o.user_id FROM old_rows o LIMIT 1));
        ELSE
            shard := vibecraft.citus_local_shard('vibecraft.user_stat_totals', (SELECT n.user_id FROM new_rows n LIMIT 1));
        END IF;
        IF shard IS NULL THEN
            RETURN NULL;  -- a statement that changed no row
        END IF;
        IF TG_OP = 'TRUNCATE' THEN
            EXECUTE format('UPDATE vibecraft.%I SET prompts = 0 WHERE prompts <> 0', shard);
        ELSIF TG_OP = 'INSERT' THEN
            EXECUTE format('INSERT INTO vibecraft.%I AS t (user_id, prompts)
                            SELECT n.user_id, count(*) FROM new_rows n GROUP BY n.user_id ORDER BY n.user_id
                            ON CONFLICT (user_id) DO UPDATE SET prompts = t.prompts + excluded.prompts', shard);
        ELSIF TG_OP = 'DELETE' THEN
            EXECUTE format('UPDATE vibecraft.%I t SET prompts = t.prompts - d.n
                              FROM (SELECT o.user_id, count(*) AS n FROM old_rows o GROUP BY o.user_id) d
                             WHERE t.user_id = d.user_id', shard);
        ELSE  -- a row cannot move to another shard: an UPDATE keeps its user
            NULL;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE vibecraft.user_stat_totals SET prompts = 0 WHERE prompts <> 0;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO vibecraft.user_stat_totals AS t (user_id, prompts)
        SELECT n.user_id, count(*) FROM new_rows n GROUP BY n.user_id ORDER BY n.user_id
        ON CONFLICT (user_id) DO UPDATE SET prompts = t.prompts + excluded.prompts;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE vibecraft.user_stat_totals t SET prompts = t.prompts - d.n
          FROM (SELECT o.user_id, count(*) AS n FROM old_rows o GROUP BY o.user_id) d
         WHERE t.user_id = d.user_id;
    ELSE -- UPDATE: only rows that moved to another user change the counts. Existing
         -- totals are adjusted first (an upsert would check a negative delta against
         -- the CHECK constraint before finding the row); users new to the totals follow.
        WITH delta AS (
            SELECT c.user_id, sum(c.n) AS n FROM (
                SELECT n.user_id, 1 AS n FROM new_rows n
                UNION ALL SELECT o.user_id, -1 FROM old_rows o) c
             GROUP BY c.user_id HAVING sum(c.n) <> 0),
        adjusted AS (
            UPDATE vibecraft.user_stat_totals t SET prompts = t.prompts + d.n
              FROM delta d WHERE t.user_id = d.user_id
            RETURNING t.user_id)
        INSERT INTO vibecraft.user_stat_totals AS t (user_id, prompts)
        SELECT d.user_id, d.n FROM delta d
         WHERE NOT EXISTS (SELECT 1 FROM adjusted a WHERE a.user_id = d.user_id)
         ORDER BY d.user_id
        ON CONFLICT (user_id) DO UPDATE SET prompts = t.prompts + excluded.prompts;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER count_prompts_insert AFTER INSERT ON vibecraft.prompt_history
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_prompts();

CREATE OR REPLACE TRIGGER count_prompts_update AFTER UPDATE ON vibecraft.prompt_history
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_prompts();

CREATE OR REPLACE TRIGGER count_prompts_delete AFTER DELETE ON vibecraft.prompt_history
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_prompts();

CREATE OR REPLACE TRIGGER count_prompts_truncate AFTER TRUNCATE ON vibecraft.prompt_history
    FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_prompts();

-- Provider usage per user: calls, errors (status 400 and above), tokens, cost. On a
-- Citus worker, into the co-located shard of user_provider_totals, as for prompts.
CREATE OR REPLACE FUNCTION vibecraft.count_provider_usage()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shard text;
BEGIN
    IF vibecraft.restoring_dump() THEN
        RETURN NULL;  -- the dump holds the totals as they were
    END IF;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'api_usage_logs' THEN
        -- (Each branch names only the transition tables its event has.)
        IF TG_OP = 'TRUNCATE' THEN
            shard := vibecraft.citus_colocated_shard(TG_TABLE_NAME, 'vibecraft.user_provider_totals');
        ELSIF TG_OP = 'DELETE' THEN
            shard := vibecraft.citus_local_shard('vibecraft.user_provider_totals', (SELECT o.user_id FROM old_rows o LIMIT 1));
        ELSE
            shard := vibecraft.citus_local_shard('vibecraft.user_provider_totals', (SELECT n.user_id FROM new_rows n LIMIT 1));
        END IF;
        IF shard IS NULL THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'TRUNCATE' THEN
            EXECUTE format('DELETE FROM vibecraft.%I', shard);
        ELSIF TG_OP = 'INSERT' THEN
            EXECUTE format('INSERT INTO vibecraft.%I AS t (user_id, provider, calls, errors, tokens, cost_usd)
                            SELECT n.user_id, n.provider, count(*), count(*) FILTER (WHERE n.status_code >= 400),
                                   sum(n.tokens_used), sum(n.cost_usd)
                              FROM new_rows n GROUP BY n.user_id, n.provider ORDER BY n.user_id, n.provider
                            ON CONFLICT (user_id, provider) DO UPDATE
                               SET calls = t.calls + excluded.calls, errors = t.errors + excluded.errors,
                                   tokens = t.tokens + excluded.tokens, cost_usd = t.cost_usd + excluded.cost_usd', shard);
        ELSIF TG_OP = 'DELETE' THEN
            EXECUTE format('UPDATE vibecraft.%I t
                               SET calls = t.calls - d.calls, errors = t.errors - d.errors,
                                   tokens = t.tokens - d.tokens, cost_usd = t.cost_usd - d.cost
                              FROM (SELECT o.user_id, o.provider, count(*) AS calls, count(*) FILTER (WHERE o.status_code >= 400) AS errors,
                                           sum(o.tokens_used) AS tokens, sum(o.cost_usd) AS cost
                                      FROM old_rows o GROUP BY o.user_id, o.provider) d
                             WHERE t.user_id = d.user_id AND t.provider = d.provider', shard);
        ELSE
            -- An UPDATE keeps its user (Citus does not move a row to another shard), but may
            -- change its provider, status, tokens or cost: as on one server below.
            EXECUTE format('WITH delta AS (
                                SELECT c.user_id, c.provider, sum(c.calls) AS calls, sum(c.errors) AS errors,
                                       sum(c.tokens) AS tokens, sum(c.cost) AS cost
                                  FROM (SELECT n.user_id, n.provider, 1 AS calls, (n.status_code >= 400)::int AS errors,
                                               n.tokens_used AS tokens, n.cost_usd AS cost FROM new_rows n
                                        UNION ALL
                                        SELECT o.user_id, o.provider, -1, -((o.status_code >= 400)::int), -o.tokens_used, -o.cost_usd
                                          FROM old_rows o) c
                                 GROUP BY c.user_id, c.provider
                                HAVING sum(c.calls) <> 0 OR sum(c.errors) <> 0 OR sum(c.tokens) <> 0 OR sum(c.cost) <> 0),
                            adjusted AS (
                                UPDATE vibecraft.%1$I t
                                   SET calls = t.calls + d.calls, errors = t.errors + d.errors,
                                       tokens = t.tokens + d.tokens, cost_usd = t.cost_usd + d.cost
                                  FROM delta d WHERE t.user_id = d.user_id AND t.provider = d.provider
                                RETURNING t.user_id, t.provider)
                            INSERT INTO vibecraft.%1$I AS t (user_id, provider, calls, errors, tokens, cost_usd)
                            SELECT d.user_id, d.provider, d.calls, d.errors, d.tokens, d.cost FROM delta d
                             WHERE NOT EXISTS (SELECT 1 FROM adjusted a WHERE a.user_id = d.user_id AND a.provider = d.provider)
                             ORDER BY d.user_id, d.provider
                            ON CONFLICT (user_id, provider) DO UPDATE
                               SET calls = t.calls + excluded.calls, errors = t.errors + excluded.errors,
                                   tokens = t.tokens + excluded.tokens, cost_usd = t.cost_usd + excluded.cost_usd', shard);
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM vibecraft.user_provider_totals;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO vibecraft.user_provider_totals AS t (user_id, provider, calls, errors, tokens, cost_usd)
        SELECT n.user_id, n.provider, count(*), count(*) FILTER (WHERE n.status_code >= 400),
               sum(n.tokens_used), sum(n.cost_usd)
          FROM new_rows n WHERE n.user_id IS NOT NULL
         GROUP BY n.user_id, n.provider ORDER BY n.user_id, n.provider
        ON CONFLICT (user_id, provider) DO UPDATE
           SET calls = t.calls + excluded.calls, errors = t.errors + excluded.errors,
               tokens = t.tokens + excluded.tokens, cost_usd = t.cost_usd + excluded.cost_usd;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE vibecraft.user_provider_totals t
           SET calls = t.calls - d.calls, errors = t.errors - d.errors,
               tokens = t.tokens - d.tokens, cost_usd = t.cost_usd - d.cost
          FROM (SELECT o.user_id, o.provider, count(*) AS calls, count(*) FILTER (WHERE o.status_code >= 400) AS errors,
                       sum(o.tokens_used) AS tokens, sum(o.cost_usd) AS cost
                  FROM old_rows o WHERE o.user_id IS NOT NULL GROUP BY o.user_id, o.provider) d
         WHERE t.user_id = d.user_id AND t.provider = d.provider;
    ELSE -- UPDATE: take the old rows out and put the new ones in; existing totals
         -- first, then the (user, provider) pairs new to the totals, as for prompts.
        WITH delta AS (
            SELECT c.user_id, c.provider, sum(c.calls) AS calls, sum(c.errors) AS errors,
                   sum(c.tokens) AS tokens, sum(c.cost) AS cost
              FROM (SELECT n.user_id, n.provider, 1 AS calls, (n.status_code >= 400)::int AS errors,
                           n.tokens_used AS tokens, n.cost_usd AS cost FROM new_rows n
                    UNION ALL
                    SELECT o.user_id, o.provider, -1, -((o.status_code >= 400)::int), -o.tokens_used, -o.cost_usd
                      FROM old_rows o) c
             WHERE c.user_id IS NOT NULL
             GROUP BY c.user_id, c.provider
            HAVING sum(c.calls) <> 0 OR sum(c.errors) <> 0 OR sum(c.tokens) <> 0 OR sum(c.cost) <> 0),
        adjusted AS (
            UPDATE vibecraft.user_provider_totals t
               SET calls = t.calls + d.calls, errors = t.errors + d.errors,
                   tokens = t.tokens + d.tokens, cost_usd = t.cost_usd + d.cost
              FROM delta d WHERE t.user_id = d.user_id AND t.provider = d.provider
            RETURNING t.user_id, t.provider)
        INSERT INTO vibecraft.user_provider_totals AS t (user_id, provider, calls, errors, tokens, cost_usd)
        SELECT d.user_id, d.provider, d.calls, d.errors, d.tokens, d.cost FROM delta d
         WHERE NOT EXISTS (SELECT 1 FROM adjusted a WHERE a.user_id = d.user_id AND a.provider = d.provider)
         ORDER BY d.user_id, d.provider
        ON CONFLICT (user_id, provider) DO UPDATE
           SET calls = t.calls + excluded.calls, errors = t.errors + excluded.errors,
               tokens = t.tokens + excluded.tokens, cost_usd = t.cost_usd + excluded.cost_usd;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER count_provider_usage_insert AFTER INSERT ON vibecraft.api_usage_logs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_provider_usage();

CREATE OR REPLACE TRIGGER count_provider_usage_update AFTER UPDATE ON vibecraft.api_usage_logs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_provider_usage();

CREATE OR REPLACE TRIGGER count_provider_usage_delete AFTER DELETE ON vibecraft.api_usage_logs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_provider_usage();

CREATE OR REPLACE TRIGGER count_provider_usage_truncate AFTER TRUNCATE ON vibecraft.api_usage_logs
    FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_provider_usage();

-- Recompute every running total from the tables themselves (after a restore without
-- triggers, or when validate_system_integrity reports drift). Returns rows changed.
CREATE OR REPLACE FUNCTION vibecraft.rebuild_stat_totals()
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed bigint := 0;
    n bigint;
BEGIN
    IF NOT vibecraft.is_service() THEN
        RAISE EXCEPTION 'vibecraft.rebuild_stat_totals: only the service role may rebuild statistics' USING ERRCODE = '42501';
    END IF;
    UPDATE vibecraft.credit_balances b SET credits_spent = s.spent
      FROM (SELECT b2.user_id, coalesce((SELECT -sum(l.amount) FROM vibecraft.credit_ledger l
                                           WHERE l.user_id = b2.user_id AND l.amount < 0), 0) AS spent
              FROM vibecraft.credit_balances b2) s
     WHERE b.user_id = s.user_id AND b.credits_spent <> s.spent;
    GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
    LOCK TABLE vibecraft.user_stat_totals, vibecraft.user_provider_totals IN EXCLUSIVE MODE;
    DELETE FROM vibecraft.user_stat_totals;
    INSERT INTO vibecraft.user_stat_totals (user_id, prompts)
    SELECT h.user_id, count(*) FROM vibecraft.prompt_history h GROUP BY h.user_id;
    GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
    DELETE FROM vibecraft.user_provider_totals;
    INSERT INTO vibecraft.user_provider_totals (user_id, provider, calls, errors, tokens, cost_usd)
    SELECT a.user_id, a.provider, count(*), count(*) FILTER (WHERE a.status_code >= 400), sum(a.tokens_used), sum(a.cost_usd)
      FROM vibecraft.api_usage_logs a WHERE a.user_id IS NOT NULL GROUP BY a.user_id, a.provider;
    GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
    RETURN changed;
END
$$;

-- The per-user lists that stay small, counted directly (for recount_user_stats;
-- get_user_stats inlines the same expressions into its one statement).
-- (PL/pgSQL: Citus cannot plan an SQL function's statement that uses its parameters.)
CREATE OR REPLACE FUNCTION vibecraft.user_stats_lists(user_uuid uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'orders_by_status', (SELECT coalesce(jsonb_object_agg(s.status, s.n), '{}') FROM
                                (SELECT o.status, count(*) AS n FROM vibecraft.orders o WHERE o.user_id = user_uuid GROUP BY o.status) s),
        'downloads', (SELECT count(*) FROM vibecraft.downloads d WHERE d.user_id = user_uuid),
        'projects_owned', (SELECT count(*) FROM vibecraft.projects p WHERE p.user_id = user_uuid AND p.deleted_at IS NULL),
        'projects_shared_with', (SELECT count(*) FROM vibecraft.project_members m
                                  JOIN vibecraft.projects p ON p.id = m.project_id
                                 WHERE m.user_id = user_uuid AND p.user_id <> user_uuid AND p.deleted_at IS NULL),
        'api_keys_active', (SELECT count(*) FROM vibecraft.api_keys k WHERE k.user_id = user_uuid AND k.is_active
                               AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())),
        -- (Three plain subqueries rather than one nested in another: Citus can plan these.)
        'last_activity_at', greatest((SELECT greatest(u.last_activity_at, u.last_login_at) FROM vibecraft.users u WHERE u.id = user_uuid),
                                     (SELECT max(a.created_at) FROM vibecraft.user_activity a WHERE a.user_id = user_uuid)));
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.get_user_stats(user_uuid uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM vibecraft.require_may_act_for('get_user_stats', user_uuid);
    -- One statement, planned once per connection: the user's row and running totals,
    -- and the lists user_stats_lists counts (the same expressions, so that both
    -- functions give the same answer; insight.sql checks it). NULL for no such user.
    -- Every table is asked for user_uuid itself, not for the joined row's id: on Citus
    -- that makes the whole statement one shard's (the user's), run on one node.
    RETURN (SELECT jsonb_build_object(
        'user_id', u.id,
        'credits', b.credits,
        'credits_added', b.credits + b.credits_spent,
        'credits_spent', b.credits_spent,
        'prompts', coalesce((SELECT t.prompts FROM vibecraft.user_stat_totals t WHERE t.user_id = user_uuid), 0),
        'usage_by_provider', (SELECT coalesce(jsonb_object_agg(p.provider, jsonb_build_object(
                                        'calls', p.calls, 'tokens', p.tokens, 'cost_usd', p.cost_usd)), '{}')
                                FROM vibecraft.user_provider_totals p WHERE p.user_id = user_uuid AND p.calls > 0),
        'orders_by_status', (SELECT coalesce(jsonb_object_agg(s.status, s.n), '{}') FROM
                                (SELECT o.status, count(*) AS n FROM vibecraft.orders o WHERE o.user_id = user_uuid GROUP BY o.status) s),
        'downloads', (SELECT count(*) FROM vibecraft.downloads d WHERE d.user_id = user_uuid),
        'projects_owned', (SELECT count(*) FROM vibecraft.projects p WHERE p.user_id = user_uuid AND p.deleted_at IS NULL),
        'projects_shared_with', (SELECT count(*) FROM vibecraft.project_members m
                                  JOIN vibecraft.projects p ON p.id = m.project_id
                                 WHERE m.user_id = user_uuid AND p.user_id <> user_uuid AND p.deleted_at IS NULL),
        'api_keys_active', (SELECT count(*) FROM vibecraft.api_keys k WHERE k.user_id = user_uuid AND k.is_active
                               AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())),
        'last_activity_at', greatest(u.last_activity_at, u.last_login_at,
                                     (SELECT max(a.created_at) FROM vibecraft.user_activity a WHERE a.user_id = user_uuid)))
      FROM vibecraft.users u LEFT JOIN vibecraft.credit_balances b ON b.user_id = user_uuid
     WHERE u.id = user_uuid);
END
$$;

-- The same numbers the slow way, straight from the history tables.
CREATE OR REPLACE FUNCTION vibecraft.recount_user_stats(user_uuid uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    credits integer;
    added bigint;
    spent bigint;
    prompts bigint;
    usage jsonb;
BEGIN
    PERFORM vibecraft.require_may_act_for('recount_user_stats', user_uuid);
    IF NOT EXISTS (SELECT 1 FROM vibecraft.users u WHERE u.id = user_uuid) THEN
        RETURN NULL;
    END IF;
    -- One statement per table (on Citus each is the user's shard's alone).
    SELECT b.credits INTO credits FROM vibecraft.credit_balances b WHERE b.user_id = user_uuid;
    SELECT coalesce(sum(l.amount) FILTER (WHERE l.amount > 0), 0), coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0), 0)
      INTO added, spent FROM vibecraft.credit_ledger l WHERE l.user_id = user_uuid;
    SELECT count(*) INTO prompts FROM vibecraft.prompt_history h WHERE h.user_id = user_uuid;
    SELECT coalesce(jsonb_object_agg(x.provider, jsonb_build_object('calls', x.calls, 'tokens', x.tokens, 'cost_usd', x.cost)), '{}')
      INTO usage
      FROM (SELECT a.provider, count(*) AS calls, sum(a.tokens_used) AS tokens, sum(a.cost_usd) AS cost
              FROM vibecraft.api_usage_logs a WHERE a.user_id = user_uuid GROUP BY a.provider) x;
    RETURN jsonb_build_object('user_id', user_uuid, 'credits', credits, 'credits_added', added, 'credits_spent', spent,
                              'prompts', prompts, 'usage_by_provider', usage)
        || vibecraft.user_stats_lists(user_uuid);
END
$$;

-- Platform-wide figures, for admins and the service role.
CREATE OR REPLACE FUNCTION vibecraft.get_system_stats()
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM vibecraft.require_staff('get_system_stats');
    RETURN jsonb_build_object(
        'users', (SELECT count(*) FROM vibecraft.users WHERE deleted_at IS NULL),
        'users_by_status', (SELECT coalesce(jsonb_object_agg(s.status, s.n), '{}')
                              FROM (SELECT status, count(*) AS n FROM vibecraft.users WHERE deleted_at IS NULL GROUP BY status) s),
        'users_by_plan', (SELECT coalesce(jsonb_object_agg(s.subscription_plan, s.n), '{}')
                            FROM (SELECT subscription_plan, count(*) AS n FROM vibecraft.users WHERE deleted_at IS NULL GROUP BY subscription_plan) s),
        'organizations', (SELECT count(*) FROM vibecraft.organizations WHERE deleted_at IS NULL),
        'organizations_by_tier', (SELECT coalesce(jsonb_object_agg(s.tier, s.n), '{}')
                                    FROM (SELECT tier, count(*) AS n FROM vibecraft.organizations WHERE deleted_at IS NULL GROUP BY tier) s),
        'revenue', (SELECT coalesce(sum(amount - refund_amount), 0) FROM vibecraft.payments
                     WHERE status IN ('succeeded', 'partially_refunded', 'refunded')),
        'refunded', (SELECT coalesce(sum(refund_amount), 0) FROM vibecraft.payments),
        'credits_outstanding', (SELECT coalesce(sum(b.credits), 0) FROM vibecraft.credit_balances b
                                  JOIN vibecraft.users u ON u.id = b.user_id WHERE u.deleted_at IS NULL),
        'orders_by_status', (SELECT coalesce(jsonb_object_agg(s.status, s.n), '{}')
                               FROM (SELECT status, count(*) AS n FROM vibecraft.orders GROUP BY status) s),
        'usage_by_provider', (SELECT coalesce(jsonb_object_agg(p.provider, jsonb_build_object(
                                        'calls', p.calls, 'errors', p.errors, 'tokens', p.tokens, 'cost_usd', p.cost)), '{}')
                                FROM (SELECT provider, sum(calls) AS calls, sum(errors) AS errors, sum(tokens) AS tokens, sum(cost_usd) AS cost
                                        FROM vibecraft.user_provider_totals GROUP BY provider HAVING sum(calls) > 0) p),
        'error_rate', (SELECT CASE WHEN sum(calls) > 0 THEN round(sum(errors)::numeric / sum(calls), 4) ELSE 0 END
                         FROM vibecraft.user_provider_totals),
        'api_keys_active', (SELECT count(*) FROM vibecraft.api_keys WHERE is_active AND revoked_at IS NULL
                               AND (expires_at IS NULL OR expires_at > now())),
        'generated_at', now());
END
$$;

-- One row per day of the last days_back days (today included), zeros on quiet days.
CREATE OR REPLACE FUNCTION vibecraft.get_user_activity_summary(user_uuid uuid, days_back integer DEFAULT 30)
RETURNS TABLE (day date, prompts bigint, api_calls bigint, tokens bigint, cost_usd numeric,
               credits_spent bigint, credits_added bigint, activities bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM vibecraft.require_may_act_for('get_user_activity_summary', user_uuid);
    IF days_back IS NULL OR days_back < 1 OR days_back > 3660 THEN
        RAISE EXCEPTION 'vibecraft.get_user_activity_summary: days_back must be 1 to 3660, not %', coalesce(days_back::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH days AS (
        SELECT d::date AS day FROM generate_series(current_date - (days_back - 1), current_date, interval '1 day') d),
    since AS (SELECT (current_date - (days_back - 1))::timestamptz AS t)
    SELECT days.day,
           coalesce(p.n, 0), coalesce(a.calls, 0), coalesce(a.tokens, 0), coalesce(a.cost, 0),
           coalesce(l.spent, 0), coalesce(l.added, 0), coalesce(x.n, 0)
      FROM days
      LEFT JOIN (SELECT h.created_at::date AS day, count(*) AS n FROM vibecraft.prompt_history h, since
                  WHERE h.user_id = user_uuid AND h.created_at >= since.t GROUP BY 1) p ON p.day = days.day
      LEFT JOIN (SELECT u.created_at::date AS day, count(*) AS calls, sum(u.tokens_used)::bigint AS tokens, sum(u.cost_usd) AS cost
                   FROM vibecraft.api_usage_logs u, since
                  WHERE u.user_id = user_uuid AND u.created_at >= since.t GROUP BY 1) a ON a.day = days.day
      LEFT JOIN (SELECT c.created_at::date AS day, -sum(c.amount) FILTER (WHERE c.amount < 0) AS spent,
                        sum(c.amount) FILTER (WHERE c.amount > 0) AS added
                   FROM vibecraft.credit_ledger c, since
                  WHERE c.user_id = user_uuid AND c.created_at >= since.t GROUP BY 1) l ON l.day = days.day
      LEFT JOIN (SELECT v.created_at::date AS day, count(*) AS n FROM vibecraft.user_activity v, since
                  WHERE v.user_id = user_uuid AND v.created_at >= since.t GROUP BY 1) x ON x.day = days.day
     ORDER BY days.day;
END
$$;

COMMENT ON FUNCTION vibecraft.get_user_stats(uuid) IS
    'A user''s statistics as jsonb: credits, credits added and spent, orders by status, downloads, projects owned and shared, prompts, usage by provider, active API keys, last activity. Reads running totals, so it costs the same for a long history. A user its own; the service role and admins anyone''s.';

COMMENT ON FUNCTION vibecraft.recount_user_stats(uuid) IS
    'The numbers of get_user_stats recounted from the history tables (slow; for checking). Same access rules.';

COMMENT ON FUNCTION vibecraft.get_system_stats() IS
    'Platform statistics as jsonb: users by status and plan, organizations by tier, revenue, refunds, credits outstanding, orders by status, usage and error rate by provider, active API keys. Admins and the service role only.';

COMMENT ON FUNCTION vibecraft.get_user_activity_summary(uuid, integer) IS
    'One row per day for the last days_back days: prompts, API calls, tokens, cost, credits spent and added, activity events. A user its own; the service role and admins anyone''s.';

COMMENT ON FUNCTION vibecraft.rebuild_stat_totals() IS
    'Recompute the running totals behind get_user_stats from the history tables; returns rows written. Service role only.';

COMMENT ON FUNCTION vibecraft.count_prompts() IS 'Trigger: keeps user_stat_totals.prompts in step with prompt_history.';
COMMENT ON FUNCTION vibecraft.count_provider_usage() IS 'Trigger: keeps user_provider_totals in step with api_usage_logs.';
COMMENT ON FUNCTION vibecraft.user_stats_lists(uuid) IS 'The small per-user counts (orders, downloads, projects, keys, last activity) that recount_user_stats adds; get_user_stats computes the same in its one statement.';

COMMENT ON TABLE vibecraft.user_stat_totals IS 'Running totals behind get_user_stats (prompts per user), kept by triggers; rebuild_stat_totals recomputes.';
COMMENT ON TABLE vibecraft.user_provider_totals IS 'Running totals behind get_user_stats (calls, errors, tokens, cost per user and provider), kept by triggers.';
COMMENT ON VIEW vibecraft.user_dashboard IS 'Per user: credits, orders, spending, downloads, projects, prompts (the get_user_stats totals), keys, last activity. RLS applies.';
COMMENT ON VIEW vibecraft.admin_dashboard IS 'Platform figures: users, organizations, orders, revenue, credits outstanding, calls and errors in the last day. RLS applies.';
COMMENT ON MATERIALIZED VIEW vibecraft.daily_api_usage IS 'Calls, errors, tokens, cost and latency per day and provider; refreshed by daily_maintenance. Service role only.';
COMMENT ON MATERIALIZED VIEW vibecraft.framework_usage IS 'Prompts, completions, tokens and cost per framework; refreshed by daily_maintenance. Service role only.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.get_user_stats(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.recount_user_stats(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.get_user_activity_summary(uuid, integer) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.get_system_stats() TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.rebuild_stat_totals() TO vibecraft_service;
GRANT SELECT ON vibecraft.admin_dashboard TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.user_dashboard TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.user_stat_totals TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.user_provider_totals TO vibecraft_authenticated;
