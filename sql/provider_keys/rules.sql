-- Users' provider API keys, encrypted with AES-256-GCM (native: src/crypto.rs).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Provider keys (encrypted, bound to their owner and provider) and service API keys.
-- The cryptography is native (src/crypto.rs, src/api_keys.rs); these functions apply
-- the rules around it. Plaintext keys are never written to a table, a log line or an
-- error message by these functions.

-- Users see their own keys (encrypted, with a hint), switch them on and off and delete
-- them; a key is saved only through save_provider_key, which checks and encrypts it,
-- and validation is the service role's.
CREATE POLICY own_read ON vibecraft.api_configurations FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_update ON vibecraft.api_configurations FOR UPDATE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high())
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_delete ON vibecraft.api_configurations FOR DELETE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

-- Associated data that binds a provider key's ciphertext to its row's owner and provider.
CREATE OR REPLACE FUNCTION vibecraft.provider_key_binding(user_id uuid, provider text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT 'api_configurations:' || user_id::text || ':' || provider $$;

CREATE OR REPLACE FUNCTION vibecraft.save_provider_key(provider text, api_key text)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    uid uuid := vibecraft.current_user_id();
    p vibecraft.ai_providers;
    config_id uuid;
BEGIN
    IF uid IS NULL THEN
        RAISE EXCEPTION 'vibecraft.save_provider_key: no one is signed in'
            USING ERRCODE = '42501', HINT = 'Call vibecraft.authenticate(jwt) in the same transaction first.';
    END IF;
    SELECT * INTO p FROM vibecraft.ai_providers a WHERE a.name = lower(btrim(provider)) AND a.is_enabled;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'vibecraft.save_provider_key: unknown or disabled provider %', quote_literal(provider)
            USING ERRCODE = '22023', HINT = 'See vibecraft.ai_providers for the providers you can use.';
    END IF;
    -- Never echo the key: say what was expected, not what was given.
    IF api_key IS NULL OR octet_length(api_key) > 1000
       OR (p.api_key_pattern IS NOT NULL AND api_key !~ p.api_key_pattern) THEN
        RAISE EXCEPTION 'vibecraft.save_provider_key: this is not a valid % API key', p.display_name
            USING ERRCODE = '22023', HINT = 'Copy the whole key from the provider''s dashboard.';
    END IF;
    INSERT INTO vibecraft.api_configurations AS c (user_id, provider, api_key_encrypted, key_hint, is_active, is_validated)
    VALUES (uid, p.name, vibecraft.encrypt_api_key(api_key, vibecraft.provider_key_binding(uid, p.name)),
            right(api_key, 4), true, false)
    ON CONFLICT (user_id, provider) DO UPDATE
       SET api_key_encrypted = EXCLUDED.api_key_encrypted, key_hint = EXCLUDED.key_hint,
           is_active = true, is_validated = false, validation_error = NULL
    RETURNING c.id INTO config_id;
    RETURN config_id;
END
$$;

-- The plaintext for the service role (and superusers); a masked hint for the key's owner.
CREATE OR REPLACE FUNCTION vibecraft.provider_key(provider text, user_uuid uuid DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    caller uuid := vibecraft.current_user_id();
    owner uuid := coalesce(user_uuid, caller);
    c vibecraft.api_configurations;
BEGIN
    IF owner IS NULL THEN
        RAISE EXCEPTION 'vibecraft.provider_key: no user given and no one is signed in' USING ERRCODE = '42501';
    END IF;
    IF NOT vibecraft.is_service() AND owner IS DISTINCT FROM caller THEN
        RAISE EXCEPTION 'vibecraft.provider_key: only the service role may read another user''s key'
            USING ERRCODE = '42501';
    END IF;
    SELECT * INTO c FROM vibecraft.api_configurations a
     WHERE a.user_id = owner AND a.provider = lower(btrim(provider)) AND a.is_active;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF vibecraft.is_service() THEN
        RETURN vibecraft.decrypt_api_key(c.api_key_encrypted, vibecraft.provider_key_binding(c.user_id, c.provider));
    END IF;
    RETURN '****' || coalesce(c.key_hint, '');
END
$$;

-- Re-encrypt every provider key under the keyring's first key, 500 rows at a time.
-- Rows under a key that is no longer in the keyring are left alone (and reported by
-- vibecraft.validate_system_integrity()).
CREATE OR REPLACE FUNCTION vibecraft.rotate_encryption_key()
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ring text[] := vibecraft.encryption_key_ids();
    done bigint := 0;
    batch bigint;
BEGIN
    IF NOT vibecraft.is_service() THEN
        RAISE EXCEPTION 'vibecraft.rotate_encryption_key: only the service role may rotate keys' USING ERRCODE = '42501';
    END IF;
    LOOP
        WITH todo AS (
            SELECT a.id, a.user_id FROM vibecraft.api_configurations a
             WHERE vibecraft.encryption_key_id(a.api_key_encrypted) <> ring[1]
               AND vibecraft.encryption_key_id(a.api_key_encrypted) = ANY (ring)
             LIMIT 500 FOR UPDATE)
        UPDATE vibecraft.api_configurations a
           SET api_key_encrypted = vibecraft.encrypt_api_key(
                   vibecraft.decrypt_api_key(a.api_key_encrypted, vibecraft.provider_key_binding(a.user_id, a.provider)),
                   vibecraft.provider_key_binding(a.user_id, a.provider))
          FROM todo WHERE a.id = todo.id AND a.user_id = todo.user_id;  -- ids are unique per user
        GET DIAGNOSTICS batch = ROW_COUNT;
        done := done + batch;
        EXIT WHEN batch < 500;
    END LOOP;
    RETURN done;
END
$$;

COMMENT ON FUNCTION vibecraft.provider_key_binding(uuid, text) IS 'The associated data binding a provider key''s ciphertext to its owner and provider.';
COMMENT ON FUNCTION vibecraft.save_provider_key(text, text) IS 'Check the signed-in user''s key against the provider''s pattern, encrypt it (AES-256-GCM, bound to user and provider) and save it; returns the configuration id. The key never reaches a log or an error message.';
COMMENT ON FUNCTION vibecraft.provider_key(text, uuid) IS 'A user''s provider key: the plaintext for the service role, ''****'' and the last four characters for the key''s owner.';
COMMENT ON FUNCTION vibecraft.rotate_encryption_key() IS 'Re-encrypt every provider key under the keyring''s first key, 500 rows at a time; returns how many were re-encrypted. Service role only.';
COMMENT ON FUNCTION vibecraft.encrypt_api_key(text, text) IS 'AES-256-GCM envelope vc1:<key id>:<data> of a plaintext under the keyring''s first key, bound to associated_data. Service role only.';
COMMENT ON FUNCTION vibecraft.decrypt_api_key(text, text) IS 'The plaintext of an envelope made by encrypt_api_key with the same associated_data; SQLSTATE 22023 when it was altered, moved or made with an unknown key. Service role only.';
COMMENT ON FUNCTION vibecraft.encryption_key_id(text) IS 'The key id an encryption envelope names, or NULL when the value is not an envelope.';
COMMENT ON FUNCTION vibecraft.encryption_key_ids() IS 'The key ids in vibecraft.encryption_keys, the encrypting key first (never the keys).';

COMMENT ON TABLE vibecraft.api_configurations IS 'A user''s key for a provider, AES-256-GCM encrypted (save_provider_key), with a masked hint.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.encryption_key_id(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.save_provider_key(text, text) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.provider_key(text, uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.encrypt_api_key(text, text) TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.decrypt_api_key(text, text) TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.encryption_key_ids() TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.rotate_encryption_key() TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.provider_key_binding(uuid, text) TO vibecraft_service;
GRANT SELECT, DELETE, UPDATE (is_active) ON vibecraft.api_configurations TO vibecraft_authenticated;
