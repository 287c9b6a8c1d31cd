SELECT public.pgp_sym_decrypt((SELECT ciphertext::bytea FROM public.bench_sealed WHERE kind = 'pgcrypto'), 'a-passphrase-from-VITE_ENCRYPTION_KEY');
