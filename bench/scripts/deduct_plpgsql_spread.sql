\set u random(1, 1000)
SELECT public.peer_deduct_credits(('b0000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid, 1);
