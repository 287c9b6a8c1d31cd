-- user: vibecraft_bench_service
-- deduct_credits for one of 1,000 users, as the backend calls it.
\set u random(1, 1000)
SELECT vibecraft.deduct_credits(('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid, 1, 'bench');
