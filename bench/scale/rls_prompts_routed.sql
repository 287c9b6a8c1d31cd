-- user: vibecraft_bench_user
-- The same read naming the user in the WHERE clause too (PostgREST: ?user_id=eq.<id>),
-- which on Citus routes it to the user's one shard.
\set u random(1, 1000)
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0') || '", "role": "authenticated"}', true);
SELECT vibecraft.postgrest_pre_request();
SELECT count(*), sum(tokens_used), max(created_at) FROM vibecraft.prompt_history
 WHERE user_id = ('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid;
END;
