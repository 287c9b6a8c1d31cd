\set id random(1, 10000)
UPDATE public.bench_updated_moddatetime SET counter = counter + 1 WHERE id = :id;
