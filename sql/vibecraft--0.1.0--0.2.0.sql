-- vibecraft 0.1.0 -> 0.2.0: rate limits, orders that pay with credits, statistics
-- totals, integrity checks, daily maintenance and log archives; sign-up can no longer
-- grant itself roles or credits.
-- Once 0.2.0 is released (listed in sql/releases) this file never changes again.

-- Native functions new in 0.2.0 (as cargo pgrx generates them).
-- vibecraft::rate_limit::check_api_key_rate_limit
CREATE  FUNCTION "check_api_key_rate_limit"(
	"key_id" uuid /* Option < pgrx :: Uuid > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'check_api_key_rate_limit_wrapper';

-- vibecraft::rate_limit::check_provider_rate_limit
CREATE  FUNCTION "check_provider_rate_limit"(
	"provider" TEXT, /* Option < & str > */
	"user_uuid" uuid DEFAULT NULL /* Option < pgrx :: Uuid > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'check_provider_rate_limit_wrapper';

-- vibecraft::rate_limit::check_rate_limit
CREATE  FUNCTION "check_rate_limit"(
	"user_uuid" uuid, /* Option < pgrx :: Uuid > */
	"action_type" TEXT, /* Option < & str > */
	"limit_count" INT, /* Option < i32 > */
	"time_window" interval /* Option < pgrx :: datum :: Interval > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'check_rate_limit_wrapper';

-- vibecraft::rate_limit::compact_rate_limits
CREATE  FUNCTION "compact_rate_limits"() RETURNS bigint /* i64 */
STRICT VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'compact_rate_limits_wrapper';

-- vibecraft::orders::create_order
CREATE  FUNCTION "create_order"(
	"user_uuid" uuid, /* Option < pgrx :: Uuid > */
	"order_type" TEXT, /* Option < & str > */
	"credits" INT DEFAULT 0, /* Option < i32 > */
	"items" jsonb DEFAULT '[]', /* Option < JsonB > */
	"total_cost" NUMERIC DEFAULT 0, /* Option < AnyNumeric > */
	"metadata" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS uuid /* pgrx :: Uuid */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'create_order_wrapper';

-- vibecraft::rate_limit::rate_limit_state
CREATE  FUNCTION "rate_limit_state"() RETURNS TABLE (
	"slots_total" bigint,  /* i64 */
	"slots_in_use" bigint,  /* i64 */
	"admitted" bigint,  /* i64 */
	"refused" bigint,  /* i64 */
	"refused_table_full" bigint  /* i64 */
)
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'rate_limit_state_wrapper';

-- vibecraft::orders::refund_order_credits
CREATE  FUNCTION "refund_order_credits"(
	"order_id" uuid /* Option < pgrx :: Uuid > */
) RETURNS INT /* i32 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'refund_order_credits_wrapper';

-- vibecraft::identity::require_may_act_for
CREATE  FUNCTION "require_may_act_for"(
	"function_name" TEXT, /* & str */
	"user_uuid" uuid /* Option < pgrx :: Uuid > */
) RETURNS void
STABLE PARALLEL RESTRICTED 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'require_may_act_for_sql_wrapper';

-- vibecraft::triggers::audit::secret_column_names
CREATE  FUNCTION "secret_column_names"() RETURNS TEXT[] /* Vec < & '_ str > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'secret_column_names_wrapper';

-- vibecraft::storage::sign_url
CREATE  FUNCTION "sign_url"(
	"bucket" TEXT, /* Option < & str > */
	"path" TEXT, /* Option < & str > */
	"expires_in" interval DEFAULT '1 hour' /* Option < pgrx :: datum :: Interval > */
) RETURNS TEXT /* String */
VOLATILE PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sign_url_wrapper';

-- The credit functions check who is calling, then act with the table owner's rights from
-- inside (src/owner_rights.rs) instead of being SECURITY DEFINER, whose per-call setting
-- of search_path was a measurable part of a deduction's cost.
ALTER FUNCTION "deduct_credits"(uuid, integer, text, text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION "add_credits"(uuid, integer, text, text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION "get_user_credits"(uuid) SECURITY INVOKER RESET search_path;

-- vibecraft::typescript::typescript_types
CREATE  FUNCTION "typescript_types"() RETURNS TEXT /* String */
STRICT STABLE PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'typescript_types_wrapper';

-- vibecraft::storage::verify_signed_url
CREATE  FUNCTION "verify_signed_url"(
	"url" TEXT /* Option < & str > */
) RETURNS bool /* bool */
VOLATILE PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'verify_signed_url_wrapper';

-- users.credits_spent, backfilled from the ledger. Triggers stay quiet while the
-- upgrade fills in derived columns: the rows' updated_at and audit trail are untouched.
SET LOCAL session_replication_role = replica;
ALTER TABLE vibecraft.users
    ADD COLUMN credits_spent bigint NOT NULL DEFAULT 0 CHECK (credits_spent >= 0);
UPDATE vibecraft.users u
   SET credits_spent = s.spent
  FROM (SELECT l.user_id, -sum(l.amount) AS spent FROM vibecraft.credit_ledger l
         WHERE l.amount < 0 GROUP BY l.user_id) s
 WHERE s.user_id = u.id;

-- Running totals behind get_user_stats, so that its cost does not grow with a user's
-- history. Kept by statement-level triggers (sql/stats.sql) on prompt_history and
-- api_usage_logs; validate_system_integrity compares them with a recount and
-- vibecraft.rebuild_stat_totals() recomputes them.
CREATE TABLE vibecraft.user_stat_totals (
    user_id    uuid PRIMARY KEY REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    prompts    bigint NOT NULL DEFAULT 0 CHECK (prompts >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vibecraft.user_provider_totals (
    user_id    uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    provider   varchar(50) NOT NULL,
    calls      bigint NOT NULL DEFAULT 0 CHECK (calls >= 0),
    errors     bigint NOT NULL DEFAULT 0 CHECK (errors >= 0),
    tokens     bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    cost_usd   numeric(16, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, provider)
);

-- Archives of the two log tables: daily_maintenance moves rows older than the
-- maintenance.archive_after_days setting here, in batches (archive_old_admin_logs).
-- Same columns; no foreign keys, so archived rows outlive what they name.
CREATE TABLE vibecraft.admin_logs_archive (LIKE vibecraft.admin_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE vibecraft.admin_logs_archive ADD PRIMARY KEY (id);
CREATE INDEX admin_logs_archive_created_at_idx ON vibecraft.admin_logs_archive (created_at);
CREATE TABLE vibecraft.audit_logs_archive (LIKE vibecraft.audit_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE vibecraft.audit_logs_archive ADD PRIMARY KEY (id);
CREATE INDEX audit_logs_archive_created_at_idx ON vibecraft.audit_logs_archive (created_at);
-- A BRIN index finds old audit rows for archiving at almost no cost to each insert.
CREATE INDEX audit_logs_created_at_brin ON vibecraft.audit_logs USING brin (created_at);

DO $new_tables$
DECLARE
    t regclass;
BEGIN
    FOREACH t IN ARRAY ARRAY['vibecraft.user_stat_totals', 'vibecraft.user_provider_totals',
                             'vibecraft.admin_logs_archive', 'vibecraft.audit_logs_archive']::regclass[] LOOP
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION vibecraft.set_updated_at()', t);
        PERFORM pg_catalog.pg_extension_config_dump(t, '');
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format('CREATE POLICY service_all ON %s TO vibecraft_service USING (true) WITH CHECK (true)', t);
        EXECUTE pg_catalog.format('GRANT SELECT ON %s TO vibecraft_authenticated', t);
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON %s TO vibecraft_service', t);
    END LOOP;
END
$new_tables$;

-- The user dashboard reads the statistics totals (and shows credits_spent).
DROP VIEW vibecraft.user_dashboard;
CREATE VIEW vibecraft.user_dashboard WITH (security_invoker = true) AS
SELECT u.id AS user_id,
       u.email,
       u.full_name,
       u.credits,
       u.credits_spent,
       u.subscription_plan,
       u.subscription_status,
       (SELECT count(*) FROM vibecraft.orders o WHERE o.user_id = u.id) AS total_orders,
       (SELECT count(*) FROM vibecraft.orders o WHERE o.user_id = u.id AND o.status = 'completed') AS completed_orders,
       (SELECT coalesce(sum(p.amount - p.refund_amount), 0) FROM vibecraft.payments p
         WHERE p.user_id = u.id AND p.status IN ('succeeded', 'partially_refunded')) AS total_spent,
       (SELECT count(*) FROM vibecraft.downloads d
         WHERE d.user_id = u.id AND d.is_active AND (d.expires_at IS NULL OR d.expires_at > now())) AS active_downloads,
       (SELECT count(*) FROM vibecraft.projects pr WHERE pr.user_id = u.id AND pr.deleted_at IS NULL) AS projects_owned,
       -- The running totals get_user_stats reads, so both show the same numbers.
       coalesce((SELECT t.prompts FROM vibecraft.user_stat_totals t WHERE t.user_id = u.id), 0) AS prompts,
       (SELECT count(*) FROM vibecraft.api_keys k
         WHERE k.user_id = u.id AND k.is_active AND k.revoked_at IS NULL
           AND (k.expires_at IS NULL OR k.expires_at > now())) AS active_api_keys,
       greatest(u.last_activity_at, u.last_login_at) AS last_activity_at
  FROM vibecraft.users u
 WHERE u.deleted_at IS NULL;

GRANT SELECT ON vibecraft.user_dashboard TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON vibecraft.user_dashboard TO vibecraft_service;

-- Sign-up may no longer grant itself roles, credits, an organization or a plan.
DROP POLICY self_insert ON vibecraft.users;
-- Signing up creates one's own row with nothing granted: no platform or organization
-- role, no organization, no credits, no verified address, the free plan. Those are given by staff (the
-- service role and admins pass through service_all / their own scope).
CREATE POLICY self_insert ON vibecraft.users FOR INSERT
    WITH CHECK (id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
                AND ((SELECT vibecraft.is_admin())
                     OR (system_role = 'user' AND role = 'MEMBER' AND organization_id IS NULL
                         AND credits = 0 AND credits_spent = 0 AND email_verified IS NULL
                         AND subscription_plan = 'free' AND subscription_status = 'active')));

-- Statistics totals: users read their own; the triggers in stats.sql keep them.
CREATE POLICY own_read ON vibecraft.user_stat_totals FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_read ON vibecraft.user_provider_totals FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

-- Log archives: admins read them; maintenance (the service role) writes them.
CREATE POLICY admin_read ON vibecraft.admin_logs_archive FOR SELECT USING ((SELECT vibecraft.is_admin()));
CREATE POLICY admin_read ON vibecraft.audit_logs_archive FOR SELECT USING ((SELECT vibecraft.is_admin()));


-- The users audit leaves out credits_spent, like credits.
SELECT vibecraft.enable_audit('vibecraft.users', ARRAY['credits', 'credits_spent', 'last_login_at', 'last_activity_at']);

INSERT INTO vibecraft.system_settings (key, value, description, category, is_public, is_system)
VALUES ('maintenance.archive_after_days', '90', 'daily_maintenance moves admin and audit log rows older than this many days to the archive tables', 'maintenance', false, true)
ON CONFLICT (key) DO NOTHING;

-- Installed reference rows get ids derived from their names, the same in every
-- database (so references to them survive a dump restored into a fresh install);
-- the rows that refer to them follow.
UPDATE vibecraft.feedback f SET category_id = md5('vibecraft.feedback_categories:' || c.name)::uuid
  FROM vibecraft.feedback_categories c WHERE c.id = f.category_id AND c.is_system;
UPDATE vibecraft.project_assets a SET bucket_id = md5('vibecraft.storage_buckets:' || b.name)::uuid
  FROM vibecraft.storage_buckets b WHERE b.id = a.bucket_id AND b.is_system;
UPDATE vibecraft.ai_providers SET id = md5('vibecraft.ai_providers:' || name)::uuid WHERE is_system;
UPDATE vibecraft.prompt_frameworks SET id = md5('vibecraft.prompt_frameworks:' || name)::uuid WHERE is_system;
UPDATE vibecraft.feedback_categories SET id = md5('vibecraft.feedback_categories:' || name)::uuid WHERE is_system;
UPDATE vibecraft.storage_buckets SET id = md5('vibecraft.storage_buckets:' || name)::uuid WHERE is_system;
UPDATE vibecraft.system_settings SET id = md5('vibecraft.system_settings:' || key)::uuid WHERE is_system;

-- For functions meant for staff: admins and the service role.
CREATE FUNCTION vibecraft.require_staff(fn text)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT vibecraft.is_service() AND NOT vibecraft.is_admin() THEN
        RAISE EXCEPTION 'vibecraft.%: admins and the service role only', fn USING ERRCODE = '42501';
    END IF;
END
$$;

COMMENT ON FUNCTION vibecraft.require_staff(text) IS 'Raises 42501 unless the caller is an admin or the service role.';
COMMENT ON FUNCTION vibecraft.require_may_act_for(text, uuid) IS 'Raises 42501 unless the caller may act for this user (itself, the service role, admins); 22023 for NULL.';
COMMENT ON FUNCTION vibecraft.require_staff(text) IS 'Raises 42501 unless the caller is an admin or the service role.';
COMMENT ON FUNCTION vibecraft.require_may_act_for(text, uuid) IS 'Raises 42501 unless the caller may act for this user (itself, the service role, admins); 22023 for NULL.';

-- ---------------------------------------------------------------- orders.sql (new)
-- Orders, payments and downloads (Creo). create_order and refund_order_credits are
-- native (src/orders.rs); the status flow is in table_rules.sql.

-- An order that ends failed or cancelled gets its reserved credits back, once: the
-- refund is what the ledger took for the order, and a second run finds nothing left.
CREATE FUNCTION vibecraft.refund_ended_order()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM vibecraft.refund_order_credits(NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER refund_ended_order
    AFTER UPDATE OF status ON vibecraft.orders
    FOR EACH ROW
    WHEN (NEW.status IN ('failed', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION vibecraft.refund_ended_order();

-- Users may cancel their own pending orders; the service role and admins any order
-- that is not final yet. Orders are otherwise updated by staff only (policies.sql).
CREATE FUNCTION vibecraft.cancel_order(order_id uuid)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
BEGIN
    SELECT id, user_id, status INTO o FROM vibecraft.orders WHERE id = order_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'vibecraft.cancel_order: no such order' USING ERRCODE = '22023';
    END IF;
    IF NOT (vibecraft.is_service() OR vibecraft.is_admin()
            OR (o.user_id = vibecraft.current_user_id() AND o.status = 'pending')) THEN
        RAISE EXCEPTION 'vibecraft.cancel_order: you may cancel only your own pending orders'
            USING ERRCODE = '42501';
    END IF;
    IF o.status IN ('completed', 'failed', 'cancelled') THEN
        RETURN false;
    END IF;
    UPDATE vibecraft.orders SET status = 'cancelled' WHERE id = o.id;
    RETURN true;
END
$$;

-- Refund part or all of a payment. One guarded UPDATE, so concurrent refunds can
-- never add up to more than the amount (a CHECK constraint stands behind it too).
CREATE FUNCTION vibecraft.refund_payment(payment_id uuid, refund numeric DEFAULT NULL)
RETURNS numeric
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    total numeric;
BEGIN
    PERFORM vibecraft.require_staff('refund_payment');
    IF refund IS NOT NULL AND refund <= 0 THEN
        RAISE EXCEPTION 'vibecraft.refund_payment: refund must be more than zero' USING ERRCODE = '22023';
    END IF;
    UPDATE vibecraft.payments AS t
       SET refund_amount = t.refund_amount + coalesce(refund, t.amount - t.refund_amount),
           status = CASE WHEN t.refund_amount + coalesce(refund, t.amount - t.refund_amount) >= t.amount
                         THEN 'refunded' ELSE 'partially_refunded' END,
           refunded_at = pg_catalog.now()
     WHERE t.id = payment_id
       AND t.status IN ('succeeded', 'partially_refunded')
       AND t.refund_amount + coalesce(refund, t.amount - t.refund_amount) <= t.amount
       AND coalesce(refund, t.amount - t.refund_amount) > 0
    RETURNING t.refund_amount INTO total;
    IF FOUND THEN
        RETURN total;
    END IF;
    SELECT status, amount, refund_amount INTO p FROM vibecraft.payments WHERE id = payment_id;
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
-- deactivated. Runs as the caller, so RLS decides whose downloads are reachable.
CREATE FUNCTION vibecraft.record_download(download_id uuid)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    url text;
BEGIN
    UPDATE vibecraft.downloads AS d
       SET download_count = d.download_count + 1, last_downloaded_at = pg_catalog.now()
     WHERE d.id = download_id AND d.is_active AND (d.expires_at IS NULL OR d.expires_at > pg_catalog.now())
    RETURNING d.file_url INTO url;
    IF FOUND THEN
        RETURN url;
    END IF;
    IF EXISTS (SELECT 1 FROM vibecraft.downloads d WHERE d.id = download_id) THEN
        RAISE EXCEPTION 'vibecraft.record_download: this download has expired'
            USING ERRCODE = '55000', HINT = 'Order it again to get a fresh link.';
    END IF;
    RAISE EXCEPTION 'vibecraft.record_download: no such download' USING ERRCODE = '22023';
    RETURN NULL;
END
$$;

-- Deactivate downloads past their expiry; returns how many. Runs as the caller (RLS
-- applies); daily_maintenance runs it for everyone.
CREATE FUNCTION vibecraft.cleanup_expired_downloads()
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

-- ---------------------------------------------------------------- rate_limit.sql (new)
-- Rate limits: the functions are native (src/rate_limit.rs); their documentation lives here.
COMMENT ON FUNCTION vibecraft.check_rate_limit(uuid, text, integer, interval) IS
    'Admit (true, counted) or refuse (false, not counted) one call of action_type by a user. Guarantee: in any interval of length time_window at most limit_count calls are admitted per (user, action), under any concurrency. Admitted calls stay counted when the caller''s transaction rolls back. A user for itself; the service role and admins for anyone. Needs vibecraft in shared_preload_libraries.';
COMMENT ON FUNCTION vibecraft.check_api_key_rate_limit(uuid) IS
    'The same limiter for an API key, with the key''s rate_limit_per_minute (no limit set: always true).';
COMMENT ON FUNCTION vibecraft.check_provider_rate_limit(text, uuid) IS
    'The same limiter for a user''s calls to an AI provider, with the provider''s max_requests_per_minute and max_requests_per_day; admitted only when both have room.';
COMMENT ON FUNCTION vibecraft.compact_rate_limits() IS
    'Free the rate-limit slots whose counts have aged out; returns how many are still in use. daily_maintenance calls it.';
COMMENT ON FUNCTION vibecraft.rate_limit_state() IS
    'The shared rate-limit table: slots in total and in use, calls admitted and refused since the server started.';

-- ---------------------------------------------------------------- stats.sql (rewritten)
DROP FUNCTION vibecraft.get_user_stats(uuid);
-- Statistics. get_user_stats reads running totals (users.credits_spent, kept by
-- deduct_credits; user_stat_totals and user_provider_totals, kept by the statement-level
-- triggers below), so its cost does not grow with a user's history. The few per-user
-- lists it still counts (orders, downloads, projects, keys) are small and indexed.
-- vibecraft.recount_user_stats gives the same answer the slow way; the integrity check
-- compares the totals with a recount, and rebuild_stat_totals() recomputes them.

-- Prompt counts per user. One upsert per statement and user, in user order so that two
-- statements touching the same users lock their totals rows in the same order.
CREATE FUNCTION vibecraft.count_prompts()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
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

CREATE TRIGGER count_prompts_insert AFTER INSERT ON vibecraft.prompt_history
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_prompts();
CREATE TRIGGER count_prompts_update AFTER UPDATE ON vibecraft.prompt_history
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_prompts();
CREATE TRIGGER count_prompts_delete AFTER DELETE ON vibecraft.prompt_history
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_prompts();
CREATE TRIGGER count_prompts_truncate AFTER TRUNCATE ON vibecraft.prompt_history
    FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_prompts();

-- Provider usage per user: calls, errors (status 400 and above), tokens, cost.
CREATE FUNCTION vibecraft.count_provider_usage()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
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

CREATE TRIGGER count_provider_usage_insert AFTER INSERT ON vibecraft.api_usage_logs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_provider_usage();
CREATE TRIGGER count_provider_usage_update AFTER UPDATE ON vibecraft.api_usage_logs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_provider_usage();
CREATE TRIGGER count_provider_usage_delete AFTER DELETE ON vibecraft.api_usage_logs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_provider_usage();
CREATE TRIGGER count_provider_usage_truncate AFTER TRUNCATE ON vibecraft.api_usage_logs
    FOR EACH STATEMENT EXECUTE FUNCTION vibecraft.count_provider_usage();

-- Recompute every running total from the tables themselves (after a restore without
-- triggers, or when validate_system_integrity reports drift). Returns rows changed.
CREATE FUNCTION vibecraft.rebuild_stat_totals()
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
    UPDATE vibecraft.users u SET credits_spent = s.spent
      FROM (SELECT u2.id, coalesce((SELECT -sum(l.amount) FROM vibecraft.credit_ledger l
                                      WHERE l.user_id = u2.id AND l.amount < 0), 0) AS spent
              FROM vibecraft.users u2) s
     WHERE u.id = s.id AND u.credits_spent <> s.spent;
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

-- The per-user lists that stay small, counted directly (shared by both versions).
CREATE FUNCTION vibecraft.user_stats_lists(user_uuid uuid)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'orders_by_status', (SELECT coalesce(jsonb_object_agg(s.status, s.n), '{}') FROM
                                (SELECT o.status, count(*) AS n FROM vibecraft.orders o WHERE o.user_id = user_uuid GROUP BY o.status) s),
        'downloads', (SELECT count(*) FROM vibecraft.downloads d WHERE d.user_id = user_uuid),
        'projects_owned', (SELECT count(*) FROM vibecraft.projects p WHERE p.user_id = user_uuid AND p.deleted_at IS NULL),
        'projects_shared_with', (SELECT count(*) FROM vibecraft.project_members m
                                  JOIN vibecraft.projects p ON p.id = m.project_id
                                 WHERE m.user_id = user_uuid AND p.user_id <> user_uuid AND p.deleted_at IS NULL),
        'api_keys_active', (SELECT count(*) FROM vibecraft.api_keys k WHERE k.user_id = user_uuid AND k.is_active
                               AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())),
        'last_activity_at', (SELECT greatest(u.last_activity_at, u.last_login_at,
                                    (SELECT max(a.created_at) FROM vibecraft.user_activity a WHERE a.user_id = user_uuid))
                               FROM vibecraft.users u WHERE u.id = user_uuid))
$$;

CREATE FUNCTION vibecraft.get_user_stats(user_uuid uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u record;
BEGIN
    PERFORM vibecraft.require_may_act_for('get_user_stats', user_uuid);
    SELECT x.credits, x.credits_spent INTO u FROM vibecraft.users x WHERE x.id = user_uuid;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object(
        'user_id', user_uuid,
        'credits', u.credits,
        'credits_added', u.credits + u.credits_spent,
        'credits_spent', u.credits_spent,
        'prompts', coalesce((SELECT t.prompts FROM vibecraft.user_stat_totals t WHERE t.user_id = user_uuid), 0),
        'usage_by_provider', (SELECT coalesce(jsonb_object_agg(p.provider, jsonb_build_object(
                                        'calls', p.calls, 'tokens', p.tokens, 'cost_usd', p.cost_usd)), '{}')
                                FROM vibecraft.user_provider_totals p WHERE p.user_id = user_uuid AND p.calls > 0)
    ) || vibecraft.user_stats_lists(user_uuid);
END
$$;

-- The same numbers the slow way, straight from the history tables.
CREATE FUNCTION vibecraft.recount_user_stats(user_uuid uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM vibecraft.require_may_act_for('recount_user_stats', user_uuid);
    IF NOT EXISTS (SELECT 1 FROM vibecraft.users u WHERE u.id = user_uuid) THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object(
        'user_id', user_uuid,
        'credits', (SELECT u.credits FROM vibecraft.users u WHERE u.id = user_uuid),
        'credits_added', (SELECT coalesce(sum(l.amount) FILTER (WHERE l.amount > 0), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = user_uuid),
        'credits_spent', (SELECT coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = user_uuid),
        'prompts', (SELECT count(*) FROM vibecraft.prompt_history h WHERE h.user_id = user_uuid),
        'usage_by_provider', (SELECT coalesce(jsonb_object_agg(x.provider, jsonb_build_object('calls', x.calls, 'tokens', x.tokens, 'cost_usd', x.cost)), '{}') FROM
                                (SELECT a.provider, count(*) AS calls, sum(a.tokens_used) AS tokens, sum(a.cost_usd) AS cost
                                   FROM vibecraft.api_usage_logs a WHERE a.user_id = user_uuid GROUP BY a.provider) x)
    ) || vibecraft.user_stats_lists(user_uuid);
END
$$;

-- Platform-wide figures, for admins and the service role.
CREATE FUNCTION vibecraft.get_system_stats()
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
        'credits_outstanding', (SELECT coalesce(sum(credits), 0) FROM vibecraft.users WHERE deleted_at IS NULL),
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
CREATE FUNCTION vibecraft.get_user_activity_summary(user_uuid uuid, days_back integer DEFAULT 30)
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
COMMENT ON FUNCTION vibecraft.user_stats_lists(uuid) IS 'The small per-user counts get_user_stats reads directly (orders, downloads, projects, keys, last activity).';

-- Fill the totals from the history already there.
SELECT vibecraft.rebuild_stat_totals();
RESET session_replication_role;

-- ---------------------------------------------------------------- integrity.sql (new)
-- validate_system_integrity: one row per check. Each check counts its violations and
-- names up to five example ids, so a DBA can go straight to the rows. The checks read
-- the tables directly, so they also find what constraints would have stopped had they
-- not been bypassed (session_replication_role = replica, NOT VALID, disabled triggers).

CREATE FUNCTION vibecraft.validate_system_integrity()
RETURNS TABLE (check_name text, severity text, status text, violations bigint, detail jsonb, remediation text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    fk record;
    n bigint;
    examples jsonb;
    total bigint;
    found_detail jsonb;
    keyring text[];
BEGIN
    PERFORM vibecraft.require_staff('validate_system_integrity');

    -- Orphans: every foreign key of every vibecraft table, checked by hand.
    total := 0; found_detail := '{}';
    FOR fk IN
        SELECT c.conrelid::regclass AS child, c.confrelid::regclass AS parent, c.conname,
               (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS child_cols,
               (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS parent_cols,
               EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attname = 'id' AND NOT a.attisdropped) AS has_id
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.connamespace = 'vibecraft'::regnamespace
         ORDER BY 1::text, c.conname
    LOOP
        EXECUTE format(
            'SELECT count(*), (SELECT jsonb_agg(x) FROM (SELECT %s AS x FROM %s c WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s) ORDER BY 1 LIMIT 5) e)
               FROM %s c WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)',
            CASE WHEN fk.has_id THEN 'c.id' ELSE format('c.%I', fk.child_cols[1]) END,
            fk.child,
            (SELECT string_agg(format('c.%I IS NOT NULL', col), ' AND ') FROM unnest(fk.child_cols) col),
            fk.parent,
            (SELECT string_agg(format('p.%I = c.%I', fk.parent_cols[i], fk.child_cols[i]), ' AND ')
               FROM generate_subscripts(fk.child_cols, 1) i),
            fk.child,
            (SELECT string_agg(format('c.%I IS NOT NULL', col), ' AND ') FROM unnest(fk.child_cols) col),
            fk.parent,
            (SELECT string_agg(format('p.%I = c.%I', fk.parent_cols[i], fk.child_cols[i]), ' AND ')
               FROM generate_subscripts(fk.child_cols, 1) i))
        INTO n, examples;
        IF n > 0 THEN
            total := total + n;
            found_detail := found_detail || jsonb_build_object(
                format('%s.%s -> %s', fk.child, array_to_string(fk.child_cols, ','), fk.parent), examples);
        END IF;
    END LOOP;
    RETURN QUERY SELECT 'orphaned_rows', 'critical', CASE WHEN total = 0 THEN 'ok' ELSE 'failed' END, total,
        found_detail || jsonb_build_object('exempt', 'audit_logs has no foreign keys by design: its rows outlive what they describe'),
        'Delete the orphaned rows or restore their parents; then find how foreign keys were bypassed (session_replication_role = replica, disabled triggers).';

    -- The ledger sums to every balance, and the spent total to the ledger's debits.
    WITH bad AS (SELECT u.id FROM vibecraft.users u
             LEFT JOIN (SELECT l.user_id, sum(l.amount) AS s, coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0), 0) AS spent
                          FROM vibecraft.credit_ledger l GROUP BY l.user_id) l ON l.user_id = u.id
             WHERE u.credits <> coalesce(l.s, 0) OR u.credits_spent <> coalesce(l.spent, 0))
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'ledger_matches_balance', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('user_ids', coalesce(examples, '[]')),
        'Compare vibecraft.credit_ledger with users.credits for these users; correct with a compensating ledger entry (add_credits or deduct_credits), never by editing rows.';

    WITH bad AS (SELECT u.id FROM vibecraft.users u WHERE u.credits < 0
            UNION SELECT l.user_id FROM vibecraft.credit_ledger l WHERE l.balance_after < 0)
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'negative_balances', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('user_ids', coalesce(examples, '[]')),
        'A balance below zero means the CHECK constraints were bypassed; add credits to bring it to zero and investigate.';

    -- Orders whose status contradicts their payments or their credits.
    WITH bad AS (SELECT o.id FROM vibecraft.orders o
             WHERE (o.status = 'completed' AND EXISTS (SELECT 1 FROM vibecraft.payments p WHERE p.order_id = o.id)
                    AND NOT EXISTS (SELECT 1 FROM vibecraft.payments p WHERE p.order_id = o.id
                                     AND p.status IN ('succeeded', 'partially_refunded', 'refunded')))
                OR (o.status IN ('failed', 'cancelled') AND EXISTS (SELECT 1 FROM vibecraft.payments p
                                     WHERE p.order_id = o.id AND p.status = 'succeeded'))
                OR (o.status IN ('failed', 'cancelled') AND (SELECT coalesce(sum(l.amount), 0) FROM vibecraft.credit_ledger l
                                     WHERE l.reference_type = 'order' AND l.reference_id = o.id) < 0)
                OR (o.status = 'completed' AND o.completed_at IS NULL))
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'orders_match_payments', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('order_ids', coalesce(examples, '[]')),
        'Completed orders need a succeeded payment; failed or cancelled ones need their payment refunded (vibecraft.refund_payment) and their credits returned (vibecraft.refund_order_credits).';

    -- Ciphertexts under a key the keyring no longer holds cannot be decrypted.
    keyring := vibecraft.encryption_key_ids();
    WITH bad AS (SELECT c.id FROM vibecraft.api_configurations c
             WHERE NOT coalesce(vibecraft.encryption_key_id(c.api_key_encrypted) = ANY (keyring), false))
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'ciphertexts_have_their_key', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('api_configuration_ids', coalesce(examples, '[]'), 'keyring', to_jsonb(keyring)),
        'Put the missing key version back into vibecraft.encryption_keys and run vibecraft.rotate_encryption_key(); otherwise these users must save their provider keys again.';

    WITH bad AS (SELECT k.id FROM vibecraft.api_keys k
             WHERE k.is_active AND k.revoked_at IS NULL AND k.expires_at <= now())
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'expired_keys_inactive', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('api_key_ids', coalesce(examples, '[]')),
        'Expired keys are already refused by validate_api_key; daily_maintenance marks them inactive.';

    -- Row-level security: on and forced everywhere, with policies, none of them open to all.
    WITH bad AS (SELECT c.oid::regclass::text AS t FROM pg_class c
             WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'p')
               AND NOT (c.relrowsecurity AND c.relforcerowsecurity))
    SELECT count(*), (SELECT jsonb_agg(x.t) FROM (SELECT b.t FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'tables_have_rls', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('tables', coalesce(examples, '[]')),
        'ALTER TABLE ... ENABLE ROW LEVEL SECURITY and FORCE ROW LEVEL SECURITY on these tables.';

    WITH bad AS (SELECT c.oid::regclass::text AS t FROM pg_class c
             WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'p')
               AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
                                  AND NOT (p.polroles @> ARRAY['vibecraft_service'::regrole::oid] AND cardinality(p.polroles) = 1)))
    SELECT count(*), (SELECT jsonb_agg(x.t) FROM (SELECT b.t FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'tables_have_policies', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('tables', coalesce(examples, '[]')),
        'Only the service role can reach these tables; add policies for users if they should.';

    WITH bad AS (SELECT p.polrelid::regclass::text || ': ' || p.polname AS p FROM pg_policy p
              JOIN pg_class c ON c.oid = p.polrelid
             WHERE c.relnamespace = 'vibecraft'::regnamespace AND p.polpermissive AND p.polcmd <> 'r'
               AND (coalesce(pg_get_expr(p.polqual, p.polrelid), 'true') = 'true'
                    AND coalesce(pg_get_expr(p.polwithcheck, p.polrelid), 'true') = 'true')
               AND NOT (p.polroles @> ARRAY['vibecraft_service'::regrole::oid] AND cardinality(p.polroles) = 1))
    SELECT count(*), (SELECT jsonb_agg(x.p) FROM (SELECT b.p FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'no_always_true_policies', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('policies', coalesce(examples, '[]'),
            -- Reading reference data (providers, frameworks, ...) is public on purpose;
            -- listed for review, not counted.
            'public_read', (SELECT jsonb_agg(p.polrelid::regclass::text ORDER BY 1) FROM pg_policy p
                              JOIN pg_class c ON c.oid = p.polrelid
                             WHERE c.relnamespace = 'vibecraft'::regnamespace AND p.polpermissive AND p.polcmd = 'r'
                               AND coalesce(pg_get_expr(p.polqual, p.polrelid), 'true') = 'true')),
        'A permissive write policy that is always true lets every role it applies to write any row; restrict it to an owner or role check.';

    -- SECURITY DEFINER functions (anywhere but the system schemas) must pin search_path.
    WITH bad AS (SELECT p.oid::regprocedure::text AS f FROM pg_proc p
             WHERE p.prosecdef AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
               AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%'))
    SELECT count(*), (SELECT jsonb_agg(x.f) FROM (SELECT b.f FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'definers_pin_search_path', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('functions', coalesce(examples, '[]')),
        'ALTER FUNCTION ... SET search_path = pg_catalog, pg_temp, and qualify every name inside it.';

    -- Foreign keys whose columns do not lead any index: deletes of the parent scan the child.
    WITH bad AS (SELECT c.conrelid::regclass::text || '.' || c.conname AS c FROM pg_constraint c
             WHERE c.contype = 'f' AND c.connamespace = 'vibecraft'::regnamespace
               AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey))
    SELECT count(*), (SELECT jsonb_agg(x.c) FROM (SELECT b.c FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'foreign_keys_indexed', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('constraints', coalesce(examples, '[]')),
        'CREATE INDEX CONCURRENTLY on the foreign key columns.';

    WITH bad AS (SELECT c.conrelid::regclass::text || '.' || c.conname AS c FROM pg_constraint c
             WHERE c.connamespace = 'vibecraft'::regnamespace AND NOT c.convalidated)
    SELECT count(*), (SELECT jsonb_agg(x.c) FROM (SELECT b.c FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'constraints_validated', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('constraints', coalesce(examples, '[]')),
        'ALTER TABLE ... VALIDATE CONSTRAINT (it takes only a SHARE UPDATE EXCLUSIVE lock).';

    -- The running totals behind get_user_stats agree with a recount.
    WITH bad AS (SELECT coalesce(t.user_id, h.user_id) AS u
              FROM vibecraft.user_stat_totals t
              FULL JOIN (SELECT user_id, count(*) AS n FROM vibecraft.prompt_history GROUP BY user_id) h ON h.user_id = t.user_id
             WHERE coalesce(t.prompts, 0) <> coalesce(h.n, 0)
            UNION
            SELECT coalesce(t.user_id, a.user_id)
              FROM (SELECT * FROM vibecraft.user_provider_totals WHERE calls <> 0 OR tokens <> 0 OR cost_usd <> 0) t
              FULL JOIN (SELECT user_id, provider, count(*) AS calls, count(*) FILTER (WHERE status_code >= 400) AS errors,
                                sum(tokens_used) AS tokens, sum(cost_usd) AS cost
                           FROM vibecraft.api_usage_logs WHERE user_id IS NOT NULL GROUP BY user_id, provider) a
                ON a.user_id = t.user_id AND a.provider = t.provider
             WHERE (t.calls, t.errors, t.tokens, t.cost_usd) IS DISTINCT FROM (a.calls, a.errors, a.tokens, a.cost))
    SELECT count(*), (SELECT jsonb_agg(x.u) FROM (SELECT b.u FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'stat_totals_match', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('user_ids', coalesce(examples, '[]')),
        'Run vibecraft.rebuild_stat_totals() (as the service role).';
END
$$;

COMMENT ON FUNCTION vibecraft.validate_system_integrity() IS
    'One row per integrity check (orphans, ledger vs balance, negative balances, orders vs payments, ciphertexts without their key, expired keys, RLS and policies, always-true policies, definers without search_path, unindexed foreign keys, NOT VALID constraints, statistics totals): status ok, warning or failed, the count, example ids and what to do. Admins and the service role only.';

-- ---------------------------------------------------------------- maintenance.sql (new)
-- Upkeep: archiving old logs in batches, the daily maintenance run, database statistics
-- for the DBA, and scheduling with pg_cron. All for the service role (daily_maintenance
-- and archiving also for admins).

-- Move rows of one log table older than cutoff into its archive, batch_size rows per
-- statement, walking the primary key so that no batch re-reads what an earlier one
-- moved. Old log rows are never updated, so the row locks this takes are locks nobody
-- waits for; writers of new rows go on meanwhile.
CREATE FUNCTION vibecraft.archive_log_rows(source regclass, archive regclass, cutoff timestamptz, batch_size integer DEFAULT 10000)
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

CREATE FUNCTION vibecraft.archive_old_admin_logs(older_than interval DEFAULT '90 days')
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
CREATE FUNCTION vibecraft.daily_maintenance()
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
CREATE FUNCTION vibecraft.get_database_stats()
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
CREATE FUNCTION vibecraft.schedule_maintenance(cron text DEFAULT '17 3 * * *')
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

-- ---------------------------------------------------------------- realtime.sql (new)
-- Realtime (Visual Prompt Builder): enable_realtime(table) publishes each committed change
-- with NOTIFY on the channel 'realtime:<schema>.<table>' (LISTEN "realtime:vibecraft.projects").
-- PostgreSQL delivers a notification only when the writing transaction commits, and never
-- for a rolled-back one. The payload is small and holds no row contents: table, op, id,
-- owner and the names of changed columns (secret columns left out), so a client fetches
-- the row itself through RLS. NOTIFY has no access control: any role that can connect
-- can LISTEN and see which ids changed and whose they are.

-- SECURITY DEFINER so that any writer of the table can publish, whatever it may execute.
CREATE FUNCTION vibecraft.publish_change()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    row_now jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
    changed text[];
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
    PERFORM pg_notify(TG_ARGV[0], jsonb_build_object(
        'table', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
        'op', lower(TG_OP),
        'id', row_now -> 'id',
        'owner', coalesce(row_now -> 'user_id', row_now -> 'owner_id', row_now -> 'created_by'),
        'changed', to_jsonb(changed))::text);
    RETURN NULL;
END
$$;

CREATE FUNCTION vibecraft.enable_realtime(target regclass)
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

CREATE FUNCTION vibecraft.disable_realtime(target regclass)
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
    'Trigger of enable_realtime: NOTIFY with {table, op, id, owner, changed} (no row contents, no secret column names).';
COMMENT ON FUNCTION vibecraft.enable_realtime(regclass) IS
    'Publish every committed change of a table on the channel it returns (''realtime:<schema>.<table>''): table, op, id, owner, changed columns. Payloads carry no row contents; any role that can connect can LISTEN.';
COMMENT ON FUNCTION vibecraft.disable_realtime(regclass) IS 'Stop publishing a table''s changes.';
COMMENT ON FUNCTION vibecraft.secret_column_names() IS
    'Column names that never leave the database in an audit row or a realtime payload.';

-- ---------------------------------------------------------------- storage.sql (new)
-- Storage rules (Visual Prompt Builder, VibeCraft Studio): every asset row is checked
-- against its bucket by the database, whichever client writes it. Signed URLs are
-- native (src/storage.rs).

-- Size within the bucket's limit, MIME type among the bucket's allowed types ('image/*'
-- matches any image), and a path scoped to the owner: '<user_id>/...', no '..' segment,
-- no leading '/', no backslash. An asset without a bucket goes to 'audio-recordings'
-- (audio) or 'project-assets' (anything else).
CREATE FUNCTION vibecraft.check_asset_against_bucket()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b record;
BEGIN
    IF NEW.bucket_id IS NULL THEN
        SELECT id INTO NEW.bucket_id FROM vibecraft.storage_buckets
         WHERE name = CASE WHEN NEW.asset_type = 'audio' THEN 'audio-recordings' ELSE 'project-assets' END;
    END IF;
    SELECT name, file_size_limit, allowed_mime_types INTO b FROM vibecraft.storage_buckets WHERE id = NEW.bucket_id;
    IF NOT FOUND THEN
        RETURN NEW; -- the foreign key reports the unknown bucket
    END IF;
    IF b.file_size_limit IS NOT NULL AND NEW.file_size > b.file_size_limit THEN
        RAISE EXCEPTION 'vibecraft: a file of % bytes is over the % bucket''s limit of % bytes', NEW.file_size, b.name, b.file_size_limit
            USING ERRCODE = '23514', TABLE = 'project_assets', COLUMN = 'file_size';
    END IF;
    IF b.allowed_mime_types IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM unnest(b.allowed_mime_types) m
            WHERE lower(NEW.mime_type) = lower(m)
               OR (m LIKE '%/*' AND lower(NEW.mime_type) LIKE lower(left(m, -1)) || '%')) THEN
        RAISE EXCEPTION 'vibecraft: the % bucket does not take files of type %', b.name, coalesce(NEW.mime_type, 'NULL')
            USING ERRCODE = '23514', TABLE = 'project_assets', COLUMN = 'mime_type',
                  HINT = 'Allowed: ' || array_to_string(b.allowed_mime_types, ', ');
    END IF;
    IF NEW.file_path NOT LIKE NEW.user_id::text || '/_%'
       OR NEW.file_path ~ '(^|/)\.\.(/|$)' OR strpos(NEW.file_path, E'\\') > 0 OR strpos(NEW.file_path, '//') > 0 THEN
        RAISE EXCEPTION 'vibecraft: file_path must be ''<user_id>/...'' of the file''s owner, without ''..'', ''//'' or backslashes, not %',
            quote_literal(NEW.file_path)
            USING ERRCODE = '23514', TABLE = 'project_assets', COLUMN = 'file_path';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER check_asset_against_bucket
    BEFORE INSERT OR UPDATE OF bucket_id, file_path, file_size, mime_type, user_id ON vibecraft.project_assets
    FOR EACH ROW EXECUTE FUNCTION vibecraft.check_asset_against_bucket();

COMMENT ON FUNCTION vibecraft.check_asset_against_bucket() IS
    'Trigger: an asset must fit its bucket (size limit, allowed MIME types) and live under ''<user_id>/''; 23514 otherwise.';
COMMENT ON FUNCTION vibecraft.sign_url(text, text, interval) IS
    'A URL for an object that verify_signed_url accepts until expires_in has passed (at most 7 days); HMAC-SHA256 with a key derived from the superuser-only JWT secret. Only for objects the caller may read (or in a public bucket): 42501 otherwise.';
COMMENT ON FUNCTION vibecraft.verify_signed_url(text) IS
    'Whether a URL made by sign_url is unaltered and unexpired; false for anything else.';

-- ---------------------------------------------------------------- comments.sql (new)
-- What each table and view is for, so that `\d+` in psql explains the schema.
-- (Functions carry their comments next to their definitions.)
COMMENT ON TABLE vibecraft.organizations IS 'Tenants (ValueCanvas): tier, feature flags, limits; soft-deleted with deleted_at.';
COMMENT ON TABLE vibecraft.users IS 'People: profile, organization role, platform role, status, credit balance (credits, with credits_spent), subscription; soft-deleted with deleted_at.';
COMMENT ON TABLE vibecraft.user_preferences IS 'One row per user: model, framework, theme, history retention (max_history_days, auto_cleanup), notifications.';
COMMENT ON TABLE vibecraft.accounts IS 'Auth.js OAuth accounts linked to a user.';
COMMENT ON TABLE vibecraft.sessions IS 'Auth.js sessions; daily_maintenance deletes expired ones. Also reachable as user_sessions.';
COMMENT ON TABLE vibecraft.verification_tokens IS 'Auth.js email verification tokens (auth backend only); daily_maintenance deletes expired ones.';
COMMENT ON TABLE vibecraft.projects IS 'Projects owned by a user (and optionally an organization); public ones are readable by anyone.';
COMMENT ON TABLE vibecraft.project_members IS 'Who else works on a project, with a role: owner > admin > editor > viewer. Also reachable as collaborators.';
COMMENT ON TABLE vibecraft.prompt_history IS 'Every prompt a user ran, with its framework, model, tokens and cost. Also reachable as project_prompts and prompt_generations.';
COMMENT ON TABLE vibecraft.project_knowledge IS 'A project''s knowledge base entries, full-text searchable.';
COMMENT ON TABLE vibecraft.project_assets IS 'Files of a project in a storage bucket (images, audio). Also reachable as audio_recordings.';
COMMENT ON TABLE vibecraft.project_settings IS 'Per-project key/value settings.';
COMMENT ON TABLE vibecraft.project_components IS 'Components (VibeCraft Studio) that make up a project.';
COMMENT ON TABLE vibecraft.agents IS 'AI agents of an organization (ValueCanvas) and their configuration.';
COMMENT ON TABLE vibecraft.executions IS 'Runs of an agent: input, output, status, timing.';
COMMENT ON TABLE vibecraft.models IS 'Value models of an organization (ValueCanvas).';
COMMENT ON TABLE vibecraft.canvases IS 'Canvases of an organization (ValueCanvas).';
COMMENT ON TABLE vibecraft.ai_providers IS 'AI providers: API key pattern, rate limits (per minute and day), models. Installed rows have fixed ids. Also reachable as api_providers.';
COMMENT ON TABLE vibecraft.api_configurations IS 'A user''s key for a provider, AES-256-GCM encrypted (save_provider_key), with a masked hint.';
COMMENT ON TABLE vibecraft.api_usage_logs IS 'One row per provider call: tokens, cost, latency, status (log_api_usage). Also reachable as api_usage.';
COMMENT ON TABLE vibecraft.prompt_frameworks IS 'Prompt frameworks (CO-STAR, RTF, ...) and their templates. Installed rows have fixed ids.';
COMMENT ON TABLE vibecraft.prompt_templates IS 'Prompt templates, public or private to their author. Also reachable as templates.';
COMMENT ON TABLE vibecraft.credit_ledger IS 'Every change of a user''s credits: amount, balance after, reason, actor, reference, idempotency key. Sums to users.credits.';
COMMENT ON TABLE vibecraft.orders IS 'Orders (Creo): pending -> processing -> completed | failed | cancelled; failed and cancelled ones refund their credits once.';
COMMENT ON TABLE vibecraft.payments IS 'Stripe payments of orders; refund_amount can never exceed amount (refund_payment).';
COMMENT ON TABLE vibecraft.downloads IS 'Downloads handed to a user, with expiry (record_download, cleanup_expired_downloads).';
COMMENT ON TABLE vibecraft.api_keys IS 'Service API keys: only the SHA-256 and a visible prefix are stored; scopes, expiry, revocation, usage.';
COMMENT ON TABLE vibecraft.feedback IS 'Feedback sent by users (or anonymously).';
COMMENT ON TABLE vibecraft.feedback_categories IS 'Feedback categories. Installed rows have fixed ids.';
COMMENT ON TABLE vibecraft.feedback_tags IS 'Tags on feedback.';
COMMENT ON TABLE vibecraft.feedback_analytics IS 'Staff analysis of feedback: sentiment, priority, status.';
COMMENT ON TABLE vibecraft.saved_searches IS 'Searches a user saved, optionally public.';
COMMENT ON TABLE vibecraft.storage_buckets IS 'Storage buckets: public or not, size limit, allowed MIME types. Installed rows have fixed ids.';
COMMENT ON TABLE vibecraft.system_settings IS 'Platform settings (key, jsonb value), public or staff-only. Also reachable as system_config.';
COMMENT ON TABLE vibecraft.error_logs IS 'Errors reported by the applications.';
COMMENT ON TABLE vibecraft.performance_metrics IS 'Performance measurements reported by the applications.';
COMMENT ON TABLE vibecraft.user_activity IS 'What users did, for activity summaries.';
COMMENT ON TABLE vibecraft.admin_logs IS 'What admins and maintenance did; rows older than maintenance.archive_after_days move to admin_logs_archive.';
COMMENT ON TABLE vibecraft.admin_logs_archive IS 'admin_logs rows moved here by archive_old_admin_logs.';
COMMENT ON TABLE vibecraft.audit_logs IS 'The audit trail written by enable_audit''s trigger (changed columns, never secrets). No foreign keys by design; old rows move to audit_logs_archive.';
COMMENT ON TABLE vibecraft.audit_logs_archive IS 'audit_logs rows moved here by archive_old_admin_logs.';
COMMENT ON TABLE vibecraft.user_stat_totals IS 'Running totals behind get_user_stats (prompts per user), kept by triggers; rebuild_stat_totals recomputes.';
COMMENT ON TABLE vibecraft.user_provider_totals IS 'Running totals behind get_user_stats (calls, errors, tokens, cost per user and provider), kept by triggers.';
COMMENT ON VIEW vibecraft.user_profiles IS 'Seed name of users (Visual Prompt Builder); auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.user_sessions IS 'Seed name of sessions; auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.collaborators IS 'Seed name of project_members; auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.project_prompts IS 'Seed name of prompt_history (VibeCraft Studio); auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.prompt_generations IS 'Seed name of prompt_history (Visual Prompt Builder); auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.audio_recordings IS 'Seed name of project_assets (audio); auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.api_providers IS 'Seed name of ai_providers; auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.api_usage IS 'Seed name of api_usage_logs; auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.templates IS 'Seed name of prompt_templates; auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.system_config IS 'Seed name of system_settings; auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.user_dashboard IS 'Per user: credits, orders, spending, downloads, projects, prompts (the get_user_stats totals), keys, last activity. RLS applies.';
COMMENT ON VIEW vibecraft.admin_dashboard IS 'Platform figures: users, organizations, orders, revenue, credits outstanding, calls and errors in the last day. RLS applies.';
COMMENT ON MATERIALIZED VIEW vibecraft.daily_api_usage IS 'Calls, errors, tokens, cost and latency per day and provider; refreshed by daily_maintenance. Service role only.';
COMMENT ON MATERIALIZED VIEW vibecraft.framework_usage IS 'Prompts, completions, tokens and cost per framework; refreshed by daily_maintenance. Service role only.';

-- ---------------------------------------------------------------- demo_data.sql (changed)
-- vibecraft.seed_demo_data(): the ValueCanvas demo (3 organizations, 5 users with ADMIN,
-- MANAGER and MEMBER roles, 3 agents, 2 canvas models, 2 canvases, executions, audit
-- rows) plus projects, prompts, templates, orders, payments, downloads, API keys and the
-- rest, so every table has realistic rows. Fixed ids and ON CONFLICT DO NOTHING make
-- it idempotent. Not granted to any role: a superuser runs it (make run does).
-- Demo API key secrets are public knowledge (see below): never seed a production database.

CREATE OR REPLACE FUNCTION vibecraft.seed_demo_data()
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    org_demo   constant uuid := 'd0000000-0000-4000-8000-000000000001';
    org_ent    constant uuid := 'd0000000-0000-4000-8000-000000000002';
    org_start  constant uuid := 'd0000000-0000-4000-8000-000000000003';
    u_admin    constant uuid := 'd1000000-0000-4000-8000-000000000001';
    u_manager  constant uuid := 'd1000000-0000-4000-8000-000000000002';
    u_member   constant uuid := 'd1000000-0000-4000-8000-000000000003';
    u_ent      constant uuid := 'd1000000-0000-4000-8000-000000000004';
    u_start    constant uuid := 'd1000000-0000-4000-8000-000000000005';
    p_studio   constant uuid := 'd2000000-0000-4000-8000-000000000001';
    p_podcast  constant uuid := 'd2000000-0000-4000-8000-000000000002';
    result jsonb;
BEGIN
    INSERT INTO vibecraft.organizations (id, name, slug, tier, feature_flags, limits) VALUES
        (org_demo, 'Demo Organization', 'demo-org', 'PRO', '{"canvas": true, "agents": true}', '{"users": 25, "agents": 10}'),
        (org_ent, 'Enterprise Corp', 'enterprise-corp', 'ENTERPRISE', '{"canvas": true, "agents": true, "sso": true}', '{"users": 1000, "agents": 100}'),
        (org_start, 'Startup Inc', 'startup-inc', 'FREE', '{"canvas": true}', '{"users": 5, "agents": 1}')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.users (id, organization_id, email, full_name, display_name, role, system_role, status, subscription_plan) VALUES
        (u_admin, org_demo, 'admin@demo-org.com', 'Ada Admin', 'Ada', 'ADMIN', 'admin', 'ACTIVE', 'pro'),
        (u_manager, org_demo, 'manager@demo-org.com', 'Max Manager', 'Max', 'MANAGER', 'user', 'ACTIVE', 'basic'),
        (u_member, org_demo, 'member@demo-org.com', 'Mia Member', 'Mia', 'MEMBER', 'user', 'ACTIVE', 'free'),
        (u_ent, org_ent, 'admin@enterprise-corp.com', 'Erin Enterprise', 'Erin', 'ADMIN', 'user', 'ACTIVE', 'enterprise'),
        (u_start, org_start, 'founder@startup-inc.com', 'Sam Startup', 'Sam', 'MEMBER', 'user', 'INVITED', 'free')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.user_preferences (user_id, selected_model, selected_framework, theme, max_history_days, auto_cleanup)
    SELECT u, 'gpt-4o-mini', 'costar', 'dark', 90, u = u_member
      FROM unnest(ARRAY[u_admin, u_manager, u_member, u_ent, u_start]) AS u
    ON CONFLICT (user_id) DO NOTHING;

    -- Credits: the ledger is the history, users.credits its running sum.
    INSERT INTO vibecraft.credit_ledger (id, user_id, amount, balance_after, reason, idempotency_key, reference_type, reference_id) VALUES
        ('d3000000-0000-4000-8000-000000000001', u_admin, 1000, 1000, 'signup bonus', 'demo-signup', NULL, NULL),
        ('d3000000-0000-4000-8000-000000000002', u_manager, 500, 500, 'signup bonus', 'demo-signup', NULL, NULL),
        ('d3000000-0000-4000-8000-000000000003', u_member, 100, 100, 'signup bonus', 'demo-signup', NULL, NULL),
        ('d3000000-0000-4000-8000-000000000004', u_member, 500, 600, 'credit purchase', 'demo-purchase', 'order', 'de000000-0000-4000-8000-000000000002'),
        ('d3000000-0000-4000-8000-000000000005', u_member, -5, 595, 'order stock_download', 'demo-order-1', 'order', 'de000000-0000-4000-8000-000000000001'),
        ('d3000000-0000-4000-8000-000000000006', u_ent, 5000, 5000, 'signup bonus', 'demo-signup', NULL, NULL),
        ('d3000000-0000-4000-8000-000000000007', u_start, 100, 100, 'signup bonus', 'demo-signup', NULL, NULL)
    ON CONFLICT DO NOTHING;
    UPDATE vibecraft.users u
       SET credits = (SELECT coalesce(sum(l.amount), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = u.id),
           credits_spent = (SELECT coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = u.id)
     WHERE u.id IN (u_admin, u_manager, u_member, u_ent, u_start);

    INSERT INTO vibecraft.agents (id, organization_id, created_by, name, agent_type, description, config) VALUES
        ('d4000000-0000-4000-8000-000000000001', org_demo, u_admin, 'Opportunity Scout', 'opportunity', 'Finds value opportunities in account data', '{"model": "gpt-4o"}'),
        ('d4000000-0000-4000-8000-000000000002', org_demo, u_manager, 'Target Setter', 'target', 'Turns opportunities into measurable targets', '{"model": "claude-sonnet-4"}'),
        ('d4000000-0000-4000-8000-000000000003', org_ent, u_ent, 'Realization Tracker', 'realization', 'Tracks realized value against targets', '{"model": "gpt-4o-mini"}')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.executions (id, organization_id, agent_id, user_id, status, input, output, started_at, completed_at, duration_ms, error_message) VALUES
        ('d5000000-0000-4000-8000-000000000001', org_demo, 'd4000000-0000-4000-8000-000000000001', u_admin, 'completed', '{"account": "Acme"}', '{"opportunities": 3}', now() - interval '2 hours', now() - interval '2 hours' + interval '4 seconds', 4000, NULL),
        ('d5000000-0000-4000-8000-000000000002', org_demo, 'd4000000-0000-4000-8000-000000000002', u_manager, 'failed', '{"opportunity": 1}', NULL, now() - interval '1 hour', now() - interval '1 hour' + interval '1 second', 1000, 'provider timeout'),
        ('d5000000-0000-4000-8000-000000000003', org_ent, 'd4000000-0000-4000-8000-000000000003', u_ent, 'running', '{"quarter": "Q3"}', NULL, now(), NULL, NULL, NULL)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.models (id, organization_id, created_by, name, description, schema, is_published) VALUES
        ('d6000000-0000-4000-8000-000000000001', org_demo, u_admin, 'Value Canvas', 'Customer value canvas', '{"sections": ["jobs", "pains", "gains"]}', true),
        ('d6000000-0000-4000-8000-000000000002', org_ent, u_ent, 'Business Model Canvas', 'The nine building blocks', '{"sections": ["partners", "activities", "resources", "value", "relationships", "channels", "segments", "costs", "revenue"]}', false)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.canvases (id, organization_id, model_id, user_id, name, data, is_shared) VALUES
        ('d7000000-0000-4000-8000-000000000001', org_demo, 'd6000000-0000-4000-8000-000000000001', u_manager, 'Acme value canvas', '{"jobs": ["reduce churn"]}', true),
        ('d7000000-0000-4000-8000-000000000002', org_ent, 'd6000000-0000-4000-8000-000000000002', u_ent, 'FY26 business model', '{"value": ["platform"]}', false)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.audit_logs (id, organization_id, user_id, action, resource_type, resource_id, changes, ip_address, user_agent) VALUES
        ('d8000000-0000-4000-8000-000000000001', org_demo, u_admin, 'login', 'session', NULL, NULL, '203.0.113.10', 'Mozilla/5.0 (demo)'),
        ('d8000000-0000-4000-8000-000000000002', org_demo, u_manager, 'create', 'canvas', 'd7000000-0000-4000-8000-000000000001',
         '{"before": null, "after": {"name": "Acme value canvas"}}', '203.0.113.11', 'Mozilla/5.0 (demo)')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.projects (id, user_id, organization_id, name, description, is_public) VALUES
        (p_studio, u_admin, org_demo, 'Prompt Studio', 'Prompts for the marketing site', false),
        (p_podcast, u_member, org_demo, 'Podcast Builder', 'Voice notes into show notes', true)
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.project_members (project_id, user_id, role, invited_by) VALUES
        (p_studio, u_admin, 'owner', NULL),
        (p_studio, u_manager, 'editor', u_admin),
        (p_studio, u_member, 'viewer', u_admin),
        (p_podcast, u_member, 'owner', NULL)
    ON CONFLICT (project_id, user_id) DO NOTHING;
    INSERT INTO vibecraft.project_settings (project_id, key, value) VALUES
        (p_studio, 'default_model', '"gpt-4o-mini"'), (p_podcast, 'language', '"en"')
    ON CONFLICT (project_id, key) DO NOTHING;
    INSERT INTO vibecraft.project_components (id, project_id, user_id, component_type, name, position, config, sort_order) VALUES
        ('d9000000-0000-4000-8000-000000000001', p_podcast, u_member, 'audio_input', 'Voice note', '{"x": 40, "y": 80}', '{"max_seconds": 300}', 1),
        ('d9000000-0000-4000-8000-000000000002', p_podcast, u_member, 'prompt_block', 'Show notes', '{"x": 320, "y": 80}', '{"framework": "rtf"}', 2)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.prompt_history (id, user_id, project_id, framework_id, framework_name, model, provider, user_input, ai_response, tokens_used, cost_usd, processing_time_ms) VALUES
        ('da000000-0000-4000-8000-000000000001', u_admin, p_studio, 'costar', 'CO-STAR', 'gpt-4o-mini', 'openai', 'Write a hero headline for an AI prompt studio', 'Prompts that ship.', 420, 0.000630, 900),
        ('da000000-0000-4000-8000-000000000002', u_manager, p_studio, 'race', 'RACE', 'claude-sonnet-4', 'anthropic', 'Draft a pricing page FAQ', 'Q: Can I cancel anytime? A: Yes.', 880, 0.013200, 2100),
        ('da000000-0000-4000-8000-000000000003', u_member, p_podcast, 'rtf', 'RTF', 'gpt-4o-mini', 'openai', 'Summarize this voice note into show notes', '1. Intro 2. Guest 3. Takeaways', 650, 0.000975, 1200),
        ('da000000-0000-4000-8000-000000000004', u_member, NULL, 'tag', 'TAG', 'llama-3.3-70b-versatile', 'groq', 'Give me five podcast names about databases', 'Row Level, The Index, ...', 300, 0.000180, 400)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.project_knowledge (id, project_id, user_id, title, content, content_type, tags) VALUES
        ('db000000-0000-4000-8000-000000000001', p_studio, u_admin, 'Brand voice', 'Plain words, short sentences, no hype.', 'markdown', '{brand,style}')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.project_assets (id, project_id, user_id, bucket_id, asset_type, file_name, file_path, file_size, mime_type, duration_seconds) VALUES
        ('dc000000-0000-4000-8000-000000000001', p_podcast, u_member,
         (SELECT b.id FROM vibecraft.storage_buckets b WHERE b.name = 'audio-recordings'), 'audio',
         'episode-1.webm', u_member::text || '/episode-1.webm', 1843200, 'audio/webm', 118.4)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.prompt_templates (id, user_id, name, description, category, framework_id, template_content, variables, is_public) VALUES
        ('dd000000-0000-4000-8000-000000000001', u_admin, 'Landing page hero', 'Headline and subline for a product page', 'marketing', 'costar', 'Write a headline for {product} aimed at {audience}.', '["product", "audience"]', true),
        ('dd000000-0000-4000-8000-000000000002', u_member, 'Show notes', 'Private: my show notes format', 'audio', 'rtf', 'Turn {transcript} into show notes.', '["transcript"]', false)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.orders (id, user_id, order_type, status, total_cost, credits_used, items, completed_at) VALUES
        ('de000000-0000-4000-8000-000000000001', u_member, 'stock_download', 'completed', 5.00, 5, '[{"id": "123", "type": "image"}]', now() - interval '1 day'),
        ('de000000-0000-4000-8000-000000000002', u_member, 'credit_purchase', 'completed', 9.99, 0, '[{"credits": 500}]', now() - interval '2 days'),
        ('de000000-0000-4000-8000-000000000003', u_manager, 'ai_generation', 'pending', 2.00, 0, '[{"prompt": "logo"}]', NULL)
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.payments (id, user_id, order_id, stripe_payment_intent_id, amount, status, refund_amount) VALUES
        ('df000000-0000-4000-8000-000000000001', u_member, 'de000000-0000-4000-8000-000000000002', 'pi_demo_0001', 9.99, 'succeeded', 0),
        ('df000000-0000-4000-8000-000000000002', u_ent, NULL, 'pi_demo_0002', 499.00, 'partially_refunded', 99.00)
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.downloads (id, user_id, order_id, file_name, file_url, file_size, file_type, expires_at, is_active) VALUES
        ('e0000000-0000-4000-8000-000000000001', u_member, 'de000000-0000-4000-8000-000000000001', 'sunset.jpg', 'https://cdn.example.com/d/sunset.jpg', 2048000, 'image/jpeg', now() + interval '7 days', true),
        ('e0000000-0000-4000-8000-000000000002', u_member, 'de000000-0000-4000-8000-000000000001', 'old-sunset.jpg', 'https://cdn.example.com/d/old.jpg', 1024000, 'image/jpeg', now() - interval '1 day', true)
    ON CONFLICT DO NOTHING;

    -- Demo API key rows. Their secrets are the published strings below, hashed like
    -- real keys: 'vc_test_demo0001_' || repeat('a', 43) and the revoked ...demo0002... one.
    INSERT INTO vibecraft.api_keys (id, user_id, organization_id, name, key_prefix, key_hash, scopes, expires_at, revoked_at, is_active) VALUES
        ('e1000000-0000-4000-8000-000000000001', u_admin, org_demo, 'Demo backend', 'vc_test_demo0001',
         sha256(convert_to('vc_test_demo0001_' || repeat('a', 43), 'UTF8')), '{prompts:read,prompts:write}', now() + interval '90 days', NULL, true),
        ('e1000000-0000-4000-8000-000000000002', u_ent, org_ent, 'Old integration', 'vc_test_demo0002',
         sha256(convert_to('vc_test_demo0002_' || repeat('b', 43), 'UTF8')), '{canvases:read}', NULL, now() - interval '3 days', false)
    ON CONFLICT DO NOTHING;

    -- A provider key, encrypted like any other, when a keyring is configured.
    IF (vibecraft.health_check()->>'keyring_configured')::boolean THEN
        INSERT INTO vibecraft.api_configurations (id, user_id, provider, api_key_encrypted, key_hint, is_validated, last_validated_at)
        VALUES ('ec000000-0000-4000-8000-000000000001', u_member, 'openai',
                vibecraft.encrypt_api_key('sk-proj-demoDemoDemoDemoDemo1234', vibecraft.provider_key_binding(u_member, 'openai')),
                '1234', true, now())
        ON CONFLICT DO NOTHING;
    END IF;

    INSERT INTO vibecraft.api_usage_logs (id, user_id, project_id, api_key_id, provider, model, endpoint, prompt_tokens, completion_tokens, cost_usd, response_time_ms, status_code, error_message) VALUES
        ('e2000000-0000-4000-8000-000000000001', u_admin, p_studio, 'e1000000-0000-4000-8000-000000000001', 'openai', 'gpt-4o-mini', '/chat/completions', 300, 120, 0.000630, 900, 200, NULL),
        ('e2000000-0000-4000-8000-000000000002', u_manager, p_studio, NULL, 'anthropic', 'claude-sonnet-4', '/messages', 500, 380, 0.013200, 2100, 200, NULL),
        ('e2000000-0000-4000-8000-000000000003', u_member, p_podcast, NULL, 'openai', 'gpt-4o-mini', '/chat/completions', 450, 200, 0.000975, 1200, 200, NULL),
        ('e2000000-0000-4000-8000-000000000004', u_member, NULL, NULL, 'groq', 'llama-3.3-70b-versatile', '/chat/completions', 100, 0, 0, 30000, 429, 'rate limited')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.user_activity (id, user_id, project_id, activity_type, description, ip_address) VALUES
        ('e3000000-0000-4000-8000-000000000001', u_admin, p_studio, 'project_created', 'Created Prompt Studio', '203.0.113.10'),
        ('e3000000-0000-4000-8000-000000000002', u_member, p_podcast, 'audio_uploaded', 'Uploaded episode-1.webm', '203.0.113.12'),
        ('e3000000-0000-4000-8000-000000000003', u_member, NULL, 'prompt_generated', 'Generated podcast names', '203.0.113.12')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.feedback (id, user_id, category_id, message, feedback_type, priority, status, rating, contact_email) VALUES
        ('e4000000-0000-4000-8000-000000000001', u_member, (SELECT c.id FROM vibecraft.feedback_categories c WHERE c.name = 'feature_request'),
         'Please add dark mode to the canvas', 'feature', 'medium', 'open', 4, 'member@demo-org.com'),
        ('e4000000-0000-4000-8000-000000000002', u_manager, (SELECT c.id FROM vibecraft.feedback_categories c WHERE c.name = 'bug'),
         'Export to PDF cuts the last page', 'bug', 'high', 'resolved', 5, NULL)
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.feedback_tags (feedback_id, tag) VALUES
        ('e4000000-0000-4000-8000-000000000001', 'canvas'), ('e4000000-0000-4000-8000-000000000002', 'export')
    ON CONFLICT (feedback_id, tag) DO NOTHING;
    INSERT INTO vibecraft.feedback_analytics (period_date, feedback_type, total_count, resolved_count, average_rating) VALUES
        (current_date - 1, 'bug', 1, 1, 5), (current_date - 1, 'feature', 1, 0, 4)
    ON CONFLICT (period_date, feedback_type) DO NOTHING;

    INSERT INTO vibecraft.saved_searches (id, user_id, name, search_query, filters, is_public) VALUES
        ('e5000000-0000-4000-8000-000000000001', u_member, 'Sunsets', 'sunset', '{"type": "image", "orientation": "landscape"}', true),
        ('e5000000-0000-4000-8000-000000000002', u_manager, 'My logos', 'logo', '{"type": "vector"}', false)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.admin_logs (id, admin_user_id, action, target_type, target_id, details, ip_address) VALUES
        ('e6000000-0000-4000-8000-000000000001', u_admin, 'user_updated', 'user', u_start, '{"changes": {"status": "INVITED"}}', '203.0.113.10')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.error_logs (id, user_id, project_id, error_type, message, severity, url, context) VALUES
        ('e7000000-0000-4000-8000-000000000001', u_member, p_podcast, 'UploadError', 'File exceeds bucket size limit', 'warning', '/projects/podcast', '{"size": 209715200}')
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.performance_metrics (id, user_id, metric_name, metric_value, unit, tags) VALUES
        ('e8000000-0000-4000-8000-000000000001', NULL, 'query.get_user_stats', 1.8, 'ms', '{"source": "demo"}'),
        ('e8000000-0000-4000-8000-000000000002', u_member, 'page.load', 640, 'ms', '{"page": "/projects"}')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.accounts (id, user_id, type, provider, provider_account_id, token_type, scope) VALUES
        ('e9000000-0000-4000-8000-000000000001', u_member, 'oauth', 'github', 'demo-1001', 'bearer', 'read:user user:email')
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.sessions (id, user_id, session_token, expires, ip_address, user_agent) VALUES
        ('ea000000-0000-4000-8000-000000000001', u_member, 'demo-session-token-0001', now() + interval '30 days', '203.0.113.12', 'Mozilla/5.0 (demo)')
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.verification_tokens (id, identifier, token, expires) VALUES
        ('eb000000-0000-4000-8000-000000000001', 'founder@startup-inc.com', 'demo-verify-0001', now() + interval '1 day')
    ON CONFLICT DO NOTHING;

    SELECT jsonb_object_agg(t.name, t.n ORDER BY t.name) INTO result FROM (VALUES
        ('organizations', (SELECT count(*) FROM vibecraft.organizations)),
        ('users', (SELECT count(*) FROM vibecraft.users)),
        ('agents', (SELECT count(*) FROM vibecraft.agents)),
        ('models', (SELECT count(*) FROM vibecraft.models)),
        ('canvases', (SELECT count(*) FROM vibecraft.canvases)),
        ('projects', (SELECT count(*) FROM vibecraft.projects)),
        ('prompts', (SELECT count(*) FROM vibecraft.prompt_history)),
        ('orders', (SELECT count(*) FROM vibecraft.orders)),
        ('api_keys', (SELECT count(*) FROM vibecraft.api_keys))) AS t(name, n);
    RETURN result;
END
$$;

COMMENT ON FUNCTION vibecraft.seed_demo_data() IS
    'Load the demo data set (3 organizations, 5 users, agents, canvases, projects, prompts, orders, ...). Idempotent. Development only: the demo API key secrets are published.';

-- ---------------------------------------------------------------- grants (new functions)
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA vibecraft FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vibecraft.get_user_stats(uuid) TO vibecraft_authenticated, vibecraft_service;
-- Orders and rate limits: the functions check who may act for whom.
GRANT EXECUTE ON FUNCTION vibecraft.create_order(uuid, text, integer, jsonb, numeric, jsonb),
    vibecraft.cancel_order(uuid), vibecraft.refund_order_credits(uuid), vibecraft.refund_payment(uuid, numeric),
    vibecraft.record_download(uuid),
    vibecraft.check_rate_limit(uuid, text, integer, interval), vibecraft.check_api_key_rate_limit(uuid),
    vibecraft.check_provider_rate_limit(text, uuid)
  TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.cleanup_expired_downloads(), vibecraft.compact_rate_limits(),
    vibecraft.rate_limit_state()
  TO vibecraft_service;
-- Statistics, integrity and upkeep: each function checks who is asking.
GRANT EXECUTE ON FUNCTION vibecraft.get_user_stats(uuid), vibecraft.recount_user_stats(uuid),
    vibecraft.get_user_activity_summary(uuid, integer), vibecraft.get_system_stats(),
    vibecraft.validate_system_integrity(), vibecraft.daily_maintenance(),
    vibecraft.archive_old_admin_logs(interval), vibecraft.get_database_stats()
  TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.rebuild_stat_totals(), vibecraft.schedule_maintenance(text)
  TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.enable_realtime(regclass), vibecraft.disable_realtime(regclass) TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.verify_signed_url(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.sign_url(text, text, interval) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.typescript_types() TO vibecraft_authenticated, vibecraft_service;
COMMENT ON FUNCTION vibecraft.typescript_types() IS
    'TypeScript types of schema vibecraft, from the live catalog: Row/Insert/Update/Relationships per table and view, Args/Returns per function the vibecraft roles may call, and Enums from CHECK (col IN (...)) lists; Supabase''s Database shape. Save the result as a .ts file after each install or upgrade.';
-- Whether an address is verified is the auth backend's word, not the user's.
REVOKE UPDATE (email_verified) ON vibecraft.users FROM vibecraft_authenticated;
