\set k 1
SELECT * FROM public.peer_validate_api_key('vc_live_' || lpad(:k::text, 8, '0') || '_' || repeat('k', 43));
