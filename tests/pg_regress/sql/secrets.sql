-- Encryption of provider keys and service API keys. The scratch cluster runs with the
-- published test keyring v1 (scripts/test.sh); this suite adds v2 and rotates to it.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Roundtrip; a fresh nonce every time; the envelope names its format and key.
SELECT vibecraft.decrypt_api_key(vibecraft.encrypt_api_key('sk-test-123', 'row-1'), 'row-1') AS roundtrip;
SELECT vibecraft.encrypt_api_key('same', 'x') <> vibecraft.encrypt_api_key('same', 'x') AS nonces_differ;
SELECT vibecraft.encrypt_api_key('sk-test-123') ~ '^vc1:v1:[A-Za-z0-9_-]+$' AS envelope_format,
       strpos(vibecraft.encrypt_api_key('sk-test-123'), 'sk-test') = 0 AS no_plaintext_inside;

-- Tampering, another row's associated data, garbage: SQLSTATE 22023, never garbage text.
CREATE TEMP TABLE sealed AS SELECT vibecraft.encrypt_api_key('sk-test-123', 'row-1') AS e;
SELECT pg_temp.try(format('SELECT vibecraft.decrypt_api_key(%L, %L)',
        overlay(e placing (CASE WHEN substr(e, 20, 1) = 'A' THEN 'B' ELSE 'A' END) from 20 for 1), 'row-1')) AS flipped_byte,
       pg_temp.try(format('SELECT vibecraft.decrypt_api_key(%L, %L)', e, 'row-2')) AS other_row,
       pg_temp.try(format('SELECT vibecraft.decrypt_api_key(%L, %L)', replace(e, 'vc1:v1:', 'vc1:v9:'), 'row-1')) AS unknown_key
  FROM sealed;
SELECT pg_temp.try('SELECT vibecraft.decrypt_api_key(''not an envelope'')') AS garbage,
       pg_temp.try('SELECT vibecraft.decrypt_api_key(''vc1:v1:AAAA'')') AS truncated;

-- A malformed or empty keyring is a clear error that never shows key material.
SET vibecraft.encryption_keys = 'v1:c2hvcnQ=';
SELECT pg_temp.try('SELECT vibecraft.encrypt_api_key(''x'')') AS short_key;
SET vibecraft.encryption_keys = '';
SELECT pg_temp.try('SELECT vibecraft.encrypt_api_key(''x'')') AS no_key;
RESET vibecraft.encryption_keys;

-- Provider keys under v1, then rotation to v2, then v1 removed: nothing is lost.
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;
DELETE FROM vibecraft.api_configurations;  -- (start from none: the demo has one)
INSERT INTO vibecraft.api_configurations (user_id, provider, api_key_encrypted, key_hint)
SELECT u.id, 'openai', vibecraft.encrypt_api_key('sk-proj-' || repeat(left(u.id::text, 8), 4),
                                                   vibecraft.provider_key_binding(u.id, 'openai')), 'xxxx'
  FROM vibecraft.users u;
SELECT vibecraft.encryption_key_id(api_key_encrypted) AS key_id, count(*) FROM vibecraft.api_configurations GROUP BY 1;
SET vibecraft.encryption_keys = 'v2:dGVzdC1vbmx5LWtleS12Mi0wMTIzNDU2Nzg5YWJjZGU=, v1:dGVzdC1vbmx5LWtleS12MS0wMTIzNDU2Nzg5YWJjZGU=';
SELECT vibecraft.encryption_key_ids();
SELECT vibecraft.rotate_encryption_key() AS re_encrypted;
SELECT vibecraft.rotate_encryption_key() AS second_run;
SELECT vibecraft.encryption_key_id(api_key_encrypted) AS key_id, count(*) FROM vibecraft.api_configurations GROUP BY 1;
SET vibecraft.encryption_keys = 'v2:dGVzdC1vbmx5LWtleS12Mi0wMTIzNDU2Nzg5YWJjZGU=';
SELECT count(*) FILTER (WHERE vibecraft.provider_key('openai', user_id) = 'sk-proj-' || repeat(left(user_id::text, 8), 4)) AS readable_after_v1_removed,
       count(*) AS total
  FROM vibecraft.api_configurations;
-- A ciphertext moved to another user's row does not decrypt.
UPDATE vibecraft.api_configurations a SET api_key_encrypted = b.api_key_encrypted
  FROM vibecraft.api_configurations b
 WHERE a.user_id = 'd1000000-0000-4000-8000-000000000001' AND b.user_id = 'd1000000-0000-4000-8000-000000000002';
SELECT pg_temp.try('SELECT vibecraft.provider_key(''openai'', ''d1000000-0000-4000-8000-000000000001'')') AS swapped;
RESET vibecraft.encryption_keys;

-- The audit trail recorded the provider keys without their ciphertext.
SELECT count(*) AS audit_rows, count(*) FILTER (WHERE changes::text LIKE '%vc1:%' OR changes::text LIKE '%sk-proj%') AS with_secrets
  FROM vibecraft.audit_logs WHERE resource_type = 'api_configurations';

-- Service API keys: the demo key ...demo0001... is valid; ...demo0002... is revoked.
SELECT valid, user_id, reason FROM vibecraft.validate_api_key('vc_test_demo0001_' || repeat('a', 43));
SELECT valid, reason FROM vibecraft.validate_api_key('vc_test_demo0001_' || repeat('a', 43), 'prompts:write');
SELECT valid, reason FROM vibecraft.validate_api_key('vc_test_demo0001_' || repeat('a', 43), 'billing:admin');
SELECT valid, key_id IS NOT NULL AS known, reason FROM vibecraft.validate_api_key('vc_test_demo0002_' || repeat('b', 43));
SELECT valid, key_id, reason FROM vibecraft.validate_api_key('vc_live_nothere_' || repeat('c', 43));
SELECT valid, reason FROM vibecraft.validate_api_key(NULL);
SELECT valid, reason FROM vibecraft.validate_api_key(repeat('x', 100000));
UPDATE vibecraft.api_keys SET expires_at = now() - interval '1 second' WHERE key_prefix = 'vc_test_demo0001';
SELECT valid, reason FROM vibecraft.validate_api_key('vc_test_demo0001_' || repeat('a', 43));
-- Uses are counted: two valid uses above, added by a flush.
SELECT vibecraft.flush_api_key_usage() AS flushed;
SELECT usage_count, last_used_at IS NOT NULL AS used FROM vibecraft.api_keys WHERE key_prefix = 'vc_test_demo0001';
SELECT vibecraft.api_key_prefix('vc_live_0a1b2c3d_' || repeat('z', 43)) AS prefix;
SELECT vibecraft.new_api_key_secret() ~ '^vc_live_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$' AS key_format;
