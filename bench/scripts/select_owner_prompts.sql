-- The same query as the table owner (no RLS), naming the user in the WHERE clause.
\set u random(1, 1000)
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0') || '", "role": "authenticated"}', true);
SELECT count(*), sum(tokens_used), max(created_at) FROM vibecraft.prompt_history
 WHERE user_id = ('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid;
END;
