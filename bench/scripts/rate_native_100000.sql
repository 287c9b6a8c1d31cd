\set u random(1, 100)
SELECT vibecraft.check_rate_limit(('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid, 'bench100000', 100000, '1 hour');
