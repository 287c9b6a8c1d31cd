\set k random(1, 1000)
SELECT * FROM vibecraft.validate_api_key('vc_live_' || lpad(:k::text, 8, '0') || '_' || repeat('k', 43));
