-- Service API keys: hashed, prefixed, scoped, expiring, revocable (native: src/api_keys.rs).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Users see their own keys and may rename them; keys are created (create_api_key),
-- revoked (revoke_api_key) and their usage counted only by vibecraft's functions.
CREATE POLICY own_read ON vibecraft.api_keys FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_rename ON vibecraft.api_keys FOR UPDATE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high())
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

-- The scopes a service API key may carry: read and write per resource, plus '*' (every
-- scope) and 'admin', which only staff may grant.
CREATE OR REPLACE FUNCTION vibecraft.api_key_scopes()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY(SELECT r || ':' || a
                   FROM unnest(ARRAY['prompts', 'projects', 'templates', 'canvases', 'agents', 'storage',
                                     'usage', 'credits', 'feedback']) WITH ORDINALITY AS x(r, i),
                        unnest(ARRAY['read', 'write']) WITH ORDINALITY AS y(a, j)
                  ORDER BY i, j) || ARRAY['*', 'admin']
$$;
COMMENT ON FUNCTION vibecraft.api_key_scopes() IS
    'The scopes create_api_key accepts: <resource>:read and <resource>:write for prompts, projects, templates, canvases, agents, storage, usage, credits and feedback, plus * and admin (staff only).';

CREATE OR REPLACE FUNCTION vibecraft.create_api_key(name text, scopes text[] DEFAULT '{}', expires_at timestamptz DEFAULT NULL,
                                         organization_id uuid DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid uuid := vibecraft.current_user_id();
    claims jsonb := coalesce(vibecraft.jwt_claims(), '{}');
    secret text;
    unknown text;
    held text[];
BEGIN
    IF uid IS NULL THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: no one is signed in' USING ERRCODE = '42501',
            HINT = 'Call vibecraft.authenticate(jwt) in the same transaction first.';
    END IF;
    IF name IS NULL OR btrim(name) = '' OR length(name) > 100 THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: name must be 1 to 100 characters' USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(quote_nullable(s), ', ') INTO unknown
      FROM unnest(coalesce(scopes, '{}')) s WHERE s IS NULL OR s <> ALL (vibecraft.api_key_scopes());
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: unknown scope(s) %', unknown
            USING ERRCODE = '22023', HINT = 'The scopes a key may carry: SELECT vibecraft.api_key_scopes().';
    END IF;
    -- A key carries only scopes its creator holds: staff signed in with a token hold all;
    -- a user signed in with a token holds every resource scope; a caller signed in with
    -- an API key holds that key's scopes ('*' standing for all of them), staff included.
    IF claims ? 'api_key_id' OR NOT (vibecraft.is_service() OR vibecraft.is_admin()) THEN
        held := CASE WHEN claims ? 'api_key_id'
                     THEN ARRAY(SELECT jsonb_array_elements_text(coalesce(claims -> 'scopes', '[]')))
                     ELSE array_remove(array_remove(vibecraft.api_key_scopes(), '*'), 'admin') END;
        SELECT string_agg(quote_literal(s), ', ') INTO unknown
          FROM unnest(coalesce(scopes, '{}')) s
         WHERE s <> ALL (held) AND NOT '*' = ANY (held);
        IF unknown IS NOT NULL THEN
            RAISE EXCEPTION 'vibecraft.create_api_key: you do not hold scope(s) %', unknown USING ERRCODE = '42501',
                HINT = 'A key can carry only scopes its creator holds; * and admin are for staff.';
        END IF;
    END IF;
    IF expires_at IS NOT NULL AND expires_at <= now() THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: expires_at must be in the future' USING ERRCODE = '22023';
    END IF;
    IF organization_id IS NOT NULL AND NOT vibecraft.is_service()
       AND NOT vibecraft.has_org_role(organization_id, 'MEMBER') THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: you are not a member of that organization' USING ERRCODE = '42501';
    END IF;
    -- A bounded number of live keys per user: each may take a rate-limit slot and a
    -- place in the shared usage queue.
    IF NOT vibecraft.is_service()
       AND (SELECT count(*) FROM vibecraft.api_keys k
             WHERE k.user_id = uid AND k.revoked_at IS NULL AND k.is_active) >= 100 THEN
        RAISE EXCEPTION 'vibecraft.create_api_key: you have 100 active API keys already' USING ERRCODE = '53400',
            HINT = 'Revoke keys you no longer use with vibecraft.revoke_api_key(key_id).';
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
-- Revocation is a workflow column: users hold no UPDATE on it, so this runs with the
-- owner's rights and decides itself whose key may be revoked (the owner's, or any for
-- staff); another user's key looks the same as one that does not exist.
CREATE OR REPLACE FUNCTION vibecraft.revoke_api_key(key_id uuid)
RETURNS boolean
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH revoked AS (
        UPDATE vibecraft.api_keys k SET revoked_at = now(), is_active = false
         WHERE k.id = revoke_api_key.key_id AND k.revoked_at IS NULL
           AND k.user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM revoked)
$$;

COMMENT ON FUNCTION vibecraft.create_api_key(text, text[], timestamptz, uuid) IS 'Create a service API key for the signed-in user and return it, once: vc_live_<id>_<256 random bits>. Only its SHA-256 is stored. Scopes come from vibecraft.api_key_scopes() (22023 otherwise) and must be held by the caller (42501 otherwise); the organization must be one the caller belongs to; at most 100 active keys per user (53400).';
COMMENT ON FUNCTION vibecraft.revoke_api_key(uuid) IS 'Revoke an API key (its owner, an admin or the service role); true when it was active.';
COMMENT ON FUNCTION vibecraft.validate_api_key(text, text) IS 'Whether an API key is valid (and for required_scope), whose it is, and why not: unknown, revoked, expired or missing_scope. Uses are counted without writing on every call (exact within about five seconds, and at disconnect).';
COMMENT ON FUNCTION vibecraft.authenticate_api_key(text) IS 'Sign in with a service API key for the rest of the transaction; SQLSTATE 28000 when the key is not valid.';
COMMENT ON FUNCTION vibecraft.flush_api_key_usage() IS 'Count this connection''s buffered API key uses now: hand them to the flush worker and wait for it; returns how many uses were handed over. The service role.';
COMMENT ON FUNCTION vibecraft.new_api_key_secret(text) IS 'Internal: a fresh API key vc_<env>_<8 hex>_<43 characters>.';
COMMENT ON FUNCTION vibecraft.api_key_prefix(text) IS 'The visible part of an API key: vc_<env>_<id>.';

COMMENT ON TABLE vibecraft.api_keys IS 'Service API keys: only the SHA-256 and a visible prefix are stored; scopes, expiry, revocation, usage.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.validate_api_key(text, text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.authenticate_api_key(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.api_key_prefix(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.api_key_scopes() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.create_api_key(text, text[], timestamptz, uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.revoke_api_key(uuid) TO vibecraft_authenticated, vibecraft_service;
-- The service role's (each call may start a background worker): users have no need of it.
GRANT EXECUTE ON FUNCTION vibecraft.flush_api_key_usage() TO vibecraft_service;
GRANT SELECT, UPDATE (name) ON vibecraft.api_keys TO vibecraft_authenticated;
