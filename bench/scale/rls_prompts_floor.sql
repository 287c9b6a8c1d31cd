-- user: postgres
-- The floor of the routed read: the same SELECT by the table owner (no policy, no
-- sign-in), naming the user in the WHERE clause.
\set u random(1, 1000)
SELECT count(*), sum(tokens_used), max(created_at) FROM vibecraft.prompt_history
 WHERE user_id = ('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid;
