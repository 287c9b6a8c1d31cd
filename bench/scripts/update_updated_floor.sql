-- The floor of the updated_at trigger: the UPDATE setting updated_at itself, on a table without triggers.
\set id random(1, 10000)
UPDATE public.bench_plain SET counter = counter + 1, updated_at = now() WHERE id = :id;
