-- check_rate_limit: at most limit_count admitted per time_window, per (user, action);
-- refused calls count nothing; the per-key and per-provider limits come from their rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;
\set mia '''d1000000-0000-4000-8000-000000000003'''
-- The limiter's state lives in shared memory and outlives this database; a fresh action
-- name per run starts from zero.
SELECT 'regress-' || gen_random_uuid() AS action \gset

-- Limit 3 per hour: the first three calls are admitted, then refused.
SELECT n, vibecraft.check_rate_limit(:mia, :'action', 3, '1 hour') AS admitted
  FROM generate_series(1, 5) AS n;
-- Another action of the same user, and the same action of another user, are separate.
SELECT vibecraft.check_rate_limit(:mia, :'action' || '-other', 3, '1 hour') AS other_action,
       vibecraft.check_rate_limit('d1000000-0000-4000-8000-000000000002', :'action', 3, '1 hour') AS other_user;
-- A short window lets calls in again once it has passed.
SELECT vibecraft.check_rate_limit(:mia, :'action' || '-short', 1, '200 milliseconds') AS first,
       vibecraft.check_rate_limit(:mia, :'action' || '-short', 1, '200 milliseconds') AS second;
SELECT pg_sleep(0.25);
SELECT vibecraft.check_rate_limit(:mia, :'action' || '-short', 1, '200 milliseconds') AS after_the_window;

-- Bad input: clear errors.
\set VERBOSITY terse
SELECT vibecraft.check_rate_limit(:mia, :'action', 0, '1 hour');
SELECT vibecraft.check_rate_limit(:mia, :'action', -1, '1 hour');
SELECT vibecraft.check_rate_limit(:mia, :'action', 10, '0 seconds');
SELECT vibecraft.check_rate_limit(:mia, :'action', 10, '-1 hour');
SELECT vibecraft.check_rate_limit(:mia, :'action', 10, '2 years');
SELECT vibecraft.check_rate_limit(:mia, '', 10, '1 hour');
SELECT vibecraft.check_rate_limit(NULL, :'action', 10, '1 hour');
SELECT vibecraft.check_rate_limit(:mia, :'action', NULL, '1 hour');
\set VERBOSITY default

-- Per API key: the key's rate_limit_per_minute (none set: always admitted).
CREATE TEMP TABLE k AS SELECT id FROM vibecraft.api_keys WHERE key_prefix LIKE 'vc_test_demo0001%';
SELECT vibecraft.check_api_key_rate_limit((SELECT id FROM k)) AS unlimited_key;
UPDATE vibecraft.api_keys SET rate_limit_per_minute = 2 WHERE id = (SELECT id FROM k);
SELECT n, vibecraft.check_api_key_rate_limit((SELECT id FROM k)) AS admitted FROM generate_series(1, 3) AS n;
UPDATE vibecraft.api_keys SET rate_limit_per_minute = NULL WHERE id = (SELECT id FROM k);

-- Per provider and user: both the per-minute and the per-day limit must have room.
INSERT INTO vibecraft.ai_providers (name, display_name, max_requests_per_minute, max_requests_per_day)
VALUES ('ratetest', 'Rate test', 3, 2);
SELECT n, vibecraft.check_provider_rate_limit('ratetest', :mia) AS admitted FROM generate_series(1, 3) AS n;
\set VERBOSITY terse
SELECT vibecraft.check_provider_rate_limit('nosuchprovider', :mia);
\set VERBOSITY default
DELETE FROM vibecraft.ai_providers WHERE name = 'ratetest';

-- The state is bounded and visible.
SELECT slots_total >= 1024 AS has_slots, slots_in_use > 0 AS in_use, admitted > 0 AS counted
  FROM vibecraft.rate_limit_state();
SELECT vibecraft.compact_rate_limits() >= 0 AS compacted;

-- Rules: a signed-in caller is held to the action's rule in vibecraft.rate_limit_rules
-- (the service role's table, for the user's plan before every plan); only the service
-- role passes limits of its own.
INSERT INTO vibecraft.rate_limit_rules (action, plan, limit_count, time_window)
VALUES ('regress:api_calls', NULL, 2, '1 hour'), ('regress:api_calls', 'enterprise', 3, '1 hour');
CREATE ROLE regress_rl_app LOGIN IN ROLE vibecraft_authenticated;
SET vibecraft.trust_request_claims = on;
SELECT set_config('request.jwt.claims', json_build_object('sub', :mia, 'role', 'authenticated')::text, false) IS NOT NULL AS signed_in;
SET ROLE regress_rl_app;
SELECT n, vibecraft.check_rate_limit(:mia, 'regress:api_calls') AS admitted FROM generate_series(1, 3) AS n;
\set VERBOSITY terse
SELECT vibecraft.check_rate_limit(:mia, 'regress:api_calls', 1000000, '1 second');
SELECT vibecraft.check_rate_limit(:mia, 'regress:no rule');
UPDATE vibecraft.rate_limit_rules SET limit_count = 1000000;
\set VERBOSITY default
SELECT action, plan, limit_count, time_window FROM vibecraft.rate_limit_rules WHERE action LIKE 'regress:%' ORDER BY plan NULLS FIRST;
RESET ROLE;
RESET vibecraft.trust_request_claims;
SELECT set_config('request.jwt.claims', '', false) = '' AS signed_out;
DROP ROLE regress_rl_app;
DELETE FROM vibecraft.rate_limit_rules WHERE action LIKE 'regress:%';
