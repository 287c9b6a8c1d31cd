-- Peers: provider-key encryption and API-key validation as the source documents'
-- teams would write them, with pgcrypto and PL/pgSQL.

-- Validation that counts usage with an UPDATE on every call.
CREATE OR REPLACE FUNCTION public.peer_validate_api_key(api_key text)
RETURNS TABLE (valid boolean, key_user_id uuid, reason text)
LANGUAGE plpgsql AS $$
DECLARE
    k record;
BEGIN
    SELECT a.id, a.user_id, a.revoked_at, a.expires_at, a.is_active INTO k
      FROM vibecraft.api_keys a WHERE a.key_hash = public.digest(api_key, 'sha256');
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, NULL::uuid, 'unknown'::text;
        RETURN;
    END IF;
    IF k.revoked_at IS NOT NULL OR NOT k.is_active THEN
        RETURN QUERY SELECT false, k.user_id, 'revoked'::text;
        RETURN;
    END IF;
    IF k.expires_at IS NOT NULL AND k.expires_at <= now() THEN
        RETURN QUERY SELECT false, k.user_id, 'expired'::text;
        RETURN;
    END IF;
    UPDATE vibecraft.api_keys SET usage_count = usage_count + 1, last_used_at = now() WHERE id = k.id;
    RETURN QUERY SELECT true, k.user_id, NULL::text;
END
$$;
