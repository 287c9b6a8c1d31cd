SELECT public.pgp_sym_encrypt('sk-proj-0123456789abcdefghijklmnopqrstuvwxyz', 'a-passphrase-from-VITE_ENCRYPTION_KEY');
