-- user: vibecraft_bench_user
-- One user's prompts under row-level security, as PostgREST asks: claims set with
-- set_config, then its db-pre-request function (which on Citus hands the sign-in to the
-- workers), then the read.
\set u random(1, 1000)
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0') || '", "role": "authenticated"}', true);
SELECT vibecraft.postgrest_pre_request();
SELECT count(*), sum(tokens_used), max(created_at) FROM vibecraft.prompt_history;
END;
