\set k 1
SELECT id, user_id, scopes FROM vibecraft.api_keys WHERE key_hash = sha256(convert_to('vc_live_' || lpad(:k::text, 8, '0') || '_' || repeat('k', 43), 'UTF8'));
