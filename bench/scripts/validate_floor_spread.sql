-- The floor of validate_api_key: the statement it runs as the table's owner (the key row
-- by its hash, with whether it is revoked or expired), sent directly.
\set k random(1, 1000)
SELECT k.id, k.user_id, k.organization_id, k.scopes,
       (k.revoked_at IS NOT NULL OR NOT k.is_active) AS revoked,
       (k.expires_at IS NOT NULL AND k.expires_at <= now()) AS expired
  FROM vibecraft.api_keys k WHERE k.key_hash = sha256(convert_to('vc_live_' || lpad(:k::text, 8, '0') || '_' || repeat('k', 43), 'UTF8'));
