-- Commerce and service access: the credit ledger, orders (validated status flow),
-- payments (refunds never above the amount), downloads (expiry), and hashed API keys.
-- Money relations use ON DELETE RESTRICT: a user with financial history cannot be
-- hard-deleted by accident (soft-delete them instead).

-- One row per change of a user's credits; the users.credits column is the running
-- balance and always equals the sum of the user's ledger amounts.
CREATE TABLE vibecraft.credit_ledger (
    id              uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    user_id         uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE RESTRICT,
    amount          integer NOT NULL CHECK (amount <> 0),
    balance_after   integer NOT NULL CHECK (balance_after >= 0),
    reason          text,
    actor_id        uuid,
    reference_type  varchar(50),
    reference_id    uuid,
    idempotency_key varchar(200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_ledger_user_id_idx ON vibecraft.credit_ledger (user_id, created_at DESC);
CREATE UNIQUE INDEX credit_ledger_idempotency_key ON vibecraft.credit_ledger (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX credit_ledger_reference_idx ON vibecraft.credit_ledger (reference_type, reference_id)
    WHERE reference_id IS NOT NULL;

-- Status flow: pending -> processing -> completed | failed | cancelled
-- (pending may also fail or be cancelled directly); enforced by a trigger.
CREATE TABLE vibecraft.orders (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE RESTRICT,
    order_type   varchar(30) NOT NULL
                 CHECK (order_type IN ('stock_download', 'ai_generation', 'subscription', 'credit_purchase')),
    status       varchar(20) NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    total_cost   numeric(12, 2) NOT NULL DEFAULT 0 CHECK (total_cost >= 0),
    credits_used integer NOT NULL DEFAULT 0 CHECK (credits_used >= 0),
    items        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(items) = 'array'),
    metadata     jsonb NOT NULL DEFAULT '{}',
    completed_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_status_created_idx ON vibecraft.orders (user_id, status, created_at DESC);
CREATE INDEX orders_status_idx ON vibecraft.orders (status);
CREATE INDEX orders_created_at_idx ON vibecraft.orders (created_at);
CREATE INDEX orders_order_type_idx ON vibecraft.orders (order_type);
CREATE INDEX orders_active_idx ON vibecraft.orders (created_at) WHERE status IN ('pending', 'processing');
CREATE INDEX orders_metadata_gin ON vibecraft.orders USING gin (metadata jsonb_path_ops);

CREATE TABLE vibecraft.payments (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                  uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE RESTRICT,
    order_id                 uuid REFERENCES vibecraft.orders (id) ON DELETE RESTRICT,
    stripe_payment_intent_id varchar(255) UNIQUE,
    amount                   numeric(12, 2) NOT NULL CHECK (amount >= 0),
    currency                 char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    status                   varchar(30) NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'cancelled', 'refunded', 'partially_refunded')),
    refund_amount            numeric(12, 2) NOT NULL DEFAULT 0
                             CONSTRAINT payments_refund_within_amount
                             CHECK (refund_amount >= 0 AND refund_amount <= amount),
    refunded_at              timestamptz,
    metadata                 jsonb NOT NULL DEFAULT '{}',
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_user_status_created_idx ON vibecraft.payments (user_id, status, created_at DESC);
CREATE INDEX payments_order_id_idx ON vibecraft.payments (order_id);
CREATE INDEX payments_status_idx ON vibecraft.payments (status);
CREATE INDEX payments_created_at_idx ON vibecraft.payments (created_at);
CREATE INDEX payments_succeeded_idx ON vibecraft.payments (created_at) WHERE status = 'succeeded';
CREATE INDEX payments_metadata_gin ON vibecraft.payments USING gin (metadata jsonb_path_ops);

CREATE TABLE vibecraft.downloads (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    order_id           uuid REFERENCES vibecraft.orders (id) ON DELETE SET NULL,
    file_name          varchar(255) NOT NULL,
    file_url           text NOT NULL,
    file_size          bigint CHECK (file_size >= 0),
    file_type          varchar(127),
    download_count     integer NOT NULL DEFAULT 0 CHECK (download_count >= 0),
    expires_at         timestamptz,
    is_active          boolean NOT NULL DEFAULT true,
    last_downloaded_at timestamptz,
    metadata           jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX downloads_user_created_idx ON vibecraft.downloads (user_id, created_at DESC);
CREATE INDEX downloads_order_id_idx ON vibecraft.downloads (order_id);
CREATE INDEX downloads_created_at_idx ON vibecraft.downloads (created_at);
CREATE INDEX downloads_expires_at_idx ON vibecraft.downloads (expires_at) WHERE is_active;
CREATE INDEX downloads_active_idx ON vibecraft.downloads (user_id) WHERE is_active;

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

ALTER TABLE vibecraft.api_usage_logs
    ADD CONSTRAINT api_usage_logs_api_key_id_fkey
    FOREIGN KEY (api_key_id) REFERENCES vibecraft.api_keys (id) ON DELETE SET NULL;
