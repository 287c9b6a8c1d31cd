SELECT public.peer_get_user_stats('b1000000-0000-4000-8000-000000000001');
