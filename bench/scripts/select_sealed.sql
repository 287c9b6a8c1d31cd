SELECT (SELECT ciphertext FROM public.bench_sealed WHERE kind = 'native');
