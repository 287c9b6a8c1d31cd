\set id random(1, 10000)
UPDATE public.bench_audit_native SET counter = counter + 1 WHERE id = :id;
