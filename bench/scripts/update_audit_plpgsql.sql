\set id random(1, 10000)
UPDATE public.bench_audit_plpgsql SET counter = counter + 1 WHERE id = :id;
