-- The floor of check_rate_limit, which runs no SQL: a statement computing the same arguments.
\set u random(1, 100)
SELECT ('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid, 'bench1000', 1000, '1 hour'::interval;
