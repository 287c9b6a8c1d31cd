-- Statistics: running totals, dashboards, and the analytics materialized views.
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- Running totals behind get_user_stats, so that its cost does not grow with a user's
-- history. Kept by statement-level triggers (sql/stats/rules.sql) on prompt_history and
-- api_usage_logs; validate_system_integrity compares them with a recount and
-- vibecraft.rebuild_stat_totals() recomputes them.
-- @since 0.2.0
CREATE TABLE vibecraft.user_stat_totals (
    user_id    uuid PRIMARY KEY REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    prompts    bigint NOT NULL DEFAULT 0 CHECK (prompts >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- @since 0.2.0
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

-- Daily provider usage, refreshed by maintenance (populated at install, so readable at once).
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
WITH DATA;

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
WITH DATA;

CREATE UNIQUE INDEX framework_usage_key ON vibecraft.framework_usage (framework_id);
