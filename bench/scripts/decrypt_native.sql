SELECT vibecraft.decrypt_api_key((SELECT ciphertext FROM public.bench_sealed WHERE kind = 'native'), 'bench-user-openai');
