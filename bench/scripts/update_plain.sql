\set id random(1, 10000)
UPDATE public.bench_plain SET counter = counter + 1 WHERE id = :id;
