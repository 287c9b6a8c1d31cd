-- The data of `make bench-scale`, loaded the same way into the single server and into the
-- Citus coordinator (through which the cluster's rows reach their shards): 1,000 users
-- with 20 prompts each and credits enough for every run, and the login role the reads run
-- as, whose PostgREST-style claims a superuser trusts.
SET client_min_messages = warning;
INSERT INTO vibecraft.users (id, email)
SELECT ('b0000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'bench' || g || '@example.com'
  FROM generate_series(1, 1000) g;
INSERT INTO vibecraft.prompt_history (user_id, user_input, tokens_used, provider, model)
SELECT ('b0000000-0000-4000-8000-' || lpad(u::text, 12, '0'))::uuid, 'prompt ' || p, 100 + p, 'openai', 'gpt-4o-mini'
  FROM generate_series(1, 1000) u, generate_series(1, 20) p;
DO $$
BEGIN
    FOR u IN 1 .. 1000 LOOP
        PERFORM vibecraft.add_credits(('b0000000-0000-4000-8000-' || lpad(u::text, 12, '0'))::uuid, 1000000000, 'bench');
    END LOOP;
END $$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vibecraft_bench_user') THEN
        CREATE ROLE vibecraft_bench_user LOGIN IN ROLE vibecraft_authenticated;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vibecraft_bench_service') THEN
        CREATE ROLE vibecraft_bench_service LOGIN IN ROLE vibecraft_service;
    END IF;
END $$;
ALTER ROLE vibecraft_bench_user SET vibecraft.trust_request_claims = on;
ANALYZE;
