-- Users' provider API keys, encrypted with AES-256-GCM (native: src/crypto.rs).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- A user's key for one provider, encrypted (see vibecraft.save_provider_key).
CREATE TABLE vibecraft.api_configurations (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    provider          varchar(50) NOT NULL REFERENCES vibecraft.ai_providers (name) ON UPDATE CASCADE ON DELETE RESTRICT,
    api_key_encrypted text NOT NULL,
    key_hint          varchar(12),
    is_active         boolean NOT NULL DEFAULT true,
    is_validated      boolean NOT NULL DEFAULT false,
    last_validated_at timestamptz,
    validation_error  text,
    usage_count       integer NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
    last_used_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, provider),
    -- The key names its user: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, user_id)
);

CREATE INDEX api_configurations_provider_idx ON vibecraft.api_configurations (provider);
