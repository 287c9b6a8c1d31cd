-- Service API keys: hashed, prefixed, scoped, expiring, revocable (native: src/api_keys.rs).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

CREATE POLICY own_rows ON vibecraft.api_keys FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));


CREATE OR REPLACE FUNCTION vibecraft.create_api_key(name text, scopes text[] DEFAULT '{}', expires_at timestamptz DEFAULT NULL,
                                         organization_id uuid DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid uuid := vibecraft.current_user_id();
    secret text;
BEGIN
    IF uid IS NULL THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: no one is signed in' USING ERRCODE = '42501',
            HINT = 'Call vibecraft.authenticate(jwt) in the same transaction first.';
    END IF;
    IF name IS NULL OR btrim(name) = '' OR length(name) > 100 THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: name must be 1 to 100 characters' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(coalesce(scopes, '{}')) s WHERE s IS NULL OR s !~ '^[a-z0-9_.:*-]{1,64}$') THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: scopes are 1-64 characters of a-z, 0-9, _ . : * -'
            USING ERRCODE = '22023';
    END IF;
    IF expires_at IS NOT NULL AND expires_at <= now() THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: expires_at must be in the future' USING ERRCODE = '22023';
    END IF;
    IF organization_id IS NOT NULL AND NOT vibecraft.is_service()
       AND NOT vibecraft.has_org_role(organization_id, 'MEMBER') THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: you are not a member of that organization' USING ERRCODE = '42501';
    END IF;
    secret := vibecraft.new_api_key_secret('live');
    INSERT INTO vibecraft.api_keys (user_id, organization_id, name, key_prefix, key_hash, scopes, expires_at)
    VALUES (uid, organization_id, btrim(name), vibecraft.api_key_prefix(secret),
            sha256(convert_to(secret, 'UTF8')), coalesce(scopes, '{}'), expires_at);
    RETURN secret;
END
$$;

-- Revoking is an UPDATE under the caller's own rights: RLS lets owners, admins and
-- the service role revoke.
CREATE OR REPLACE FUNCTION vibecraft.revoke_api_key(key_id uuid)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    WITH revoked AS (
        UPDATE vibecraft.api_keys k SET revoked_at = now(), is_active = false
         WHERE k.id = revoke_api_key.key_id AND k.revoked_at IS NULL
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM revoked)
$$;

COMMENT ON FUNCTION vibecraft.create_api_key(text, text[], timestamptz, uuid) IS 'Create a service API key for the signed-in user and return it, once: vc_live_<id>_<256 random bits>. Only its SHA-256 is stored.';

COMMENT ON FUNCTION vibecraft.revoke_api_key(uuid) IS 'Revoke an API key (its owner, an admin or the service role); true when it was active.';

COMMENT ON FUNCTION vibecraft.validate_api_key(text, text) IS 'Whether an API key is valid (and for required_scope), whose it is, and why not: unknown, revoked, expired or missing_scope. Uses are counted without writing on every call (exact within about five seconds, and at disconnect).';

COMMENT ON FUNCTION vibecraft.authenticate_api_key(text) IS 'Sign in with a service API key for the rest of the transaction; SQLSTATE 28000 when the key is not valid.';

COMMENT ON FUNCTION vibecraft.flush_api_key_usage() IS 'Add this connection''s buffered API key uses to api_keys.usage_count now; returns how many uses were added.';

COMMENT ON FUNCTION vibecraft.new_api_key_secret(text) IS 'Internal: a fresh API key vc_<env>_<8 hex>_<43 characters>.';

COMMENT ON FUNCTION vibecraft.api_key_prefix(text) IS 'The visible part of an API key: vc_<env>_<id>.';


COMMENT ON TABLE vibecraft.api_keys IS 'Service API keys: only the SHA-256 and a visible prefix are stored; scopes, expiry, revocation, usage.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.validate_api_key(text, text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.authenticate_api_key(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.api_key_prefix(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.create_api_key(text, text[], timestamptz, uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.revoke_api_key(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.flush_api_key_usage() TO vibecraft_authenticated, vibecraft_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.api_keys TO vibecraft_authenticated;
