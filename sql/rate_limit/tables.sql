-- Rate-limit rules: the limits signed-in callers are held to (src/rate_limit.rs).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- One rule per action and plan; a rule with no plan holds for every plan. A signed-in
-- caller's check_rate_limit(user, action) uses the rule for the user's plan, else the
-- one for every plan; only the service role may pass limits of its own.
-- @since 0.2.0
CREATE TABLE vibecraft.rate_limit_rules (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    action      varchar(200) NOT NULL CHECK (action <> ''),
    plan        varchar(30) CHECK (plan IN ('free', 'basic', 'pro', 'enterprise')),
    limit_count integer NOT NULL CHECK (limit_count > 0),
    time_window interval NOT NULL CHECK (time_window >= interval '1 second' AND time_window <= interval '366 days'),
    description text CHECK (octet_length(description) <= 1000),
    is_system   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- @since 0.2.0
CREATE UNIQUE INDEX rate_limit_rules_action_plan_key ON vibecraft.rate_limit_rules (action, coalesce(plan, ''));

-- The limits of writes that need no sign-in (feedback forms, error reports): all
-- anonymous callers of one table share one budget per window.
-- @since 0.2.0
-- (Fixed ids, as every installed reference row has: a restore makes them anew.)
INSERT INTO vibecraft.rate_limit_rules (id, action, limit_count, time_window, description, is_system) VALUES
    ('c1000000-0000-4000-8000-000000000001', 'anon_insert:feedback', 60, '1 minute',
     'Anonymous feedback rows, all anonymous callers together', true),
    ('c1000000-0000-4000-8000-000000000002', 'anon_insert:error_logs', 300, '1 minute',
     'Anonymous error reports, all anonymous callers together', true);
