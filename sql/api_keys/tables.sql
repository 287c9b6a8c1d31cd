-- Service API keys: hashed, prefixed, scoped, expiring, revocable (native: src/api_keys.rs).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- Service API keys: only the SHA-256 of the secret is stored, with its visible prefix.
CREATE TABLE vibecraft.api_keys (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id               uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    organization_id       uuid REFERENCES vibecraft.organizations (id) ON DELETE CASCADE,
    name                  varchar(100) NOT NULL CHECK (btrim(name) <> ''),
    key_prefix            varchar(40) NOT NULL,
    key_hash              bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    scopes                text[] NOT NULL DEFAULT '{}',
    rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0),
    usage_count           bigint NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
    last_used_at          timestamptz,
    expires_at            timestamptz,
    revoked_at            timestamptz,
    is_active             boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX api_keys_user_id_idx ON vibecraft.api_keys (user_id);
CREATE INDEX api_keys_organization_id_idx ON vibecraft.api_keys (organization_id);
CREATE INDEX api_keys_expires_at_idx ON vibecraft.api_keys (expires_at) WHERE is_active AND expires_at IS NOT NULL;
