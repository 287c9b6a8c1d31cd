-- Statistics and upkeep: get_user_stats reads running totals and agrees with a plain
-- recount; system statistics, the activity summary and daily maintenance on demo data.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;

-- Fast totals and the slow recount give the same numbers, for every demo user...
SELECT u.email, vibecraft.get_user_stats(u.id) = vibecraft.recount_user_stats(u.id) AS same
  FROM vibecraft.users u ORDER BY u.email;
-- ...also after prompts and usage are added, moved and deleted.
INSERT INTO vibecraft.prompt_history (user_id, user_input, tokens_used)
SELECT 'd1000000-0000-4000-8000-000000000003', 'prompt ' || g, g FROM generate_series(1, 50) g;
SELECT vibecraft.log_api_usage('openai', 'gpt-4o', 100, 50, 0.01, 300, 500, user_uuid => 'd1000000-0000-4000-8000-000000000003') IS NOT NULL AS logged;
UPDATE vibecraft.prompt_history SET user_id = 'd1000000-0000-4000-8000-000000000002'
 WHERE user_id = 'd1000000-0000-4000-8000-000000000003' AND user_input IN ('prompt 1', 'prompt 2');
DELETE FROM vibecraft.prompt_history WHERE user_input = 'prompt 3';
UPDATE vibecraft.api_usage_logs SET provider = 'anthropic' WHERE status_code = 500;
SELECT u.email, vibecraft.get_user_stats(u.id) = vibecraft.recount_user_stats(u.id) AS same
  FROM vibecraft.users u ORDER BY u.email;
SELECT key FROM jsonb_object_keys(vibecraft.get_user_stats('d1000000-0000-4000-8000-000000000003')) AS key ORDER BY key;
SELECT s -> 'prompts' AS prompts, s -> 'usage_by_provider' -> 'anthropic' AS anthropic
  FROM vibecraft.get_user_stats('d1000000-0000-4000-8000-000000000003') s;
-- The dashboard shows the same numbers.
SELECT d.prompts = (vibecraft.get_user_stats(d.user_id) ->> 'prompts')::bigint AS dashboard_agrees
  FROM vibecraft.user_dashboard d WHERE d.user_id = 'd1000000-0000-4000-8000-000000000003';

-- System statistics.
SELECT key FROM jsonb_object_keys(vibecraft.get_system_stats()) AS key ORDER BY key;
SELECT s -> 'users_by_status' AS users_by_status, s -> 'credits_outstanding' AS credits_outstanding,
       (s ->> 'credits_outstanding')::bigint = (SELECT sum(credits) FROM vibecraft.credit_balances) AS outstanding_matches,
       (s ->> 'revenue')::numeric = (SELECT admin_dashboard.revenue FROM vibecraft.admin_dashboard) AS revenue_matches_dashboard
  FROM vibecraft.get_system_stats() s;

-- One row per day, zeros on quiet days.
SELECT count(*) AS days, sum(prompts) AS prompts, sum(api_calls) AS api_calls
  FROM vibecraft.get_user_activity_summary('d1000000-0000-4000-8000-000000000003', 30);
\set VERBOSITY terse
SELECT count(*) FROM vibecraft.get_user_activity_summary('d1000000-0000-4000-8000-000000000003', 0);
SELECT count(*) FROM vibecraft.get_user_activity_summary(NULL);
\set VERBOSITY default

-- Daily maintenance: old log rows to the archive, expired rows out, and a report.
INSERT INTO vibecraft.admin_logs (action, created_at) SELECT 'old action', now() - interval '200 days' FROM generate_series(1, 25);
INSERT INTO vibecraft.audit_logs (action, resource_type, created_at) SELECT 'update', 'regress', now() - interval '200 days' FROM generate_series(1, 30);
INSERT INTO vibecraft.sessions (user_id, session_token, expires)
VALUES ('d1000000-0000-4000-8000-000000000003', 'expired-session-token', now() - interval '1 hour');
-- (what other suites left in this database varies, so only the figures this one set up)
SELECT r ->> 'log_rows_archived' AS log_rows_archived, r ->> 'expired_sessions' AS expired_sessions,
       r ->> 'materialized_views_refreshed' AS views_refreshed, r ->> 'archive_after_days' AS archive_after_days
  FROM vibecraft.daily_maintenance() r;
SELECT (SELECT count(*) FROM vibecraft.admin_logs_archive) AS admin_archived,
       (SELECT count(*) FROM vibecraft.audit_logs_archive WHERE resource_type = 'regress') AS audit_archived,
       (SELECT count(*) FROM vibecraft.audit_logs WHERE created_at < now() - interval '90 days') AS old_left;
SELECT count(*) > 0 AS daily_api_usage_populated FROM vibecraft.daily_api_usage;
\set VERBOSITY terse
SELECT vibecraft.archive_old_admin_logs('1 hour');
\set VERBOSITY default

-- Database statistics and scheduling.
SELECT key FROM jsonb_object_keys(vibecraft.get_database_stats()) AS key ORDER BY key;
SELECT vibecraft.schedule_maintenance() LIKE 'pg_cron is not installed%' AS says_pg_cron_is_missing;
\set VERBOSITY terse
SELECT vibecraft.schedule_maintenance('every day');
\set VERBOSITY default
