-- Dashboards (Creo) and analytics materialized views (PromptCraft).
-- The dashboards are security_invoker views: each caller sees the rows RLS lets it see.
-- Materialized views cannot carry RLS, so they are granted to the service role only.

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

CREATE VIEW vibecraft.admin_dashboard WITH (security_invoker = true) AS
SELECT (SELECT count(*) FROM vibecraft.users WHERE deleted_at IS NULL) AS total_users,
       (SELECT count(*) FROM vibecraft.users WHERE deleted_at IS NULL AND status = 'ACTIVE') AS active_users,
       (SELECT count(*) FROM vibecraft.organizations WHERE deleted_at IS NULL) AS organizations,
       (SELECT count(*) FROM vibecraft.orders) AS total_orders,
       (SELECT count(*) FROM vibecraft.orders WHERE status IN ('pending', 'processing')) AS open_orders,
       (SELECT coalesce(sum(amount - refund_amount), 0) FROM vibecraft.payments
         WHERE status IN ('succeeded', 'partially_refunded')) AS revenue,
       (SELECT coalesce(sum(credits), 0) FROM vibecraft.users WHERE deleted_at IS NULL) AS credits_outstanding,
       (SELECT count(*) FROM vibecraft.api_usage_logs WHERE created_at > now() - interval '1 day') AS api_calls_24h,
       (SELECT count(*) FROM vibecraft.error_logs WHERE created_at > now() - interval '1 day') AS errors_24h;

-- Daily provider usage, refreshed by maintenance.
CREATE MATERIALIZED VIEW vibecraft.daily_api_usage AS
SELECT date_trunc('day', l.created_at)::date AS day,
       l.provider,
       count(*) AS calls,
       count(*) FILTER (WHERE l.status_code >= 400) AS errors,
       sum(l.tokens_used) AS tokens,
       sum(l.cost_usd) AS cost_usd,
       avg(l.response_time_ms)::integer AS avg_response_time_ms
  FROM vibecraft.api_usage_logs l
 GROUP BY 1, 2
WITH NO DATA;
CREATE UNIQUE INDEX daily_api_usage_key ON vibecraft.daily_api_usage (day, provider);

-- Framework popularity and success, refreshed by maintenance.
CREATE MATERIALIZED VIEW vibecraft.framework_usage AS
SELECT coalesce(h.framework_id, 'none') AS framework_id,
       count(*) AS prompts,
       count(*) FILTER (WHERE h.status = 'completed') AS completed,
       avg(h.tokens_used)::integer AS avg_tokens,
       sum(h.cost_usd) AS cost_usd,
       max(h.created_at) AS last_used_at
  FROM vibecraft.prompt_history h
 GROUP BY 1
WITH NO DATA;
CREATE UNIQUE INDEX framework_usage_key ON vibecraft.framework_usage (framework_id);
