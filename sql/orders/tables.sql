-- Orders that pay with credits, payments and refunds, downloads with expiry (native: src/orders.rs).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- Money relations use ON DELETE RESTRICT, as for the credit ledger.
-- Status flow: pending -> processing -> completed | failed | cancelled
-- (pending may also fail or be cancelled directly); enforced by a trigger.
CREATE TABLE vibecraft.orders (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
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
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- The key names its user: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, user_id)
);

CREATE INDEX orders_user_status_created_idx ON vibecraft.orders (user_id, status, created_at DESC);
CREATE INDEX orders_status_idx ON vibecraft.orders (status);
CREATE INDEX orders_created_at_idx ON vibecraft.orders (created_at);
CREATE INDEX orders_order_type_idx ON vibecraft.orders (order_type);
CREATE INDEX orders_active_idx ON vibecraft.orders (created_at) WHERE status IN ('pending', 'processing');
CREATE INDEX orders_metadata_gin ON vibecraft.orders USING gin (metadata jsonb_path_ops);

CREATE TABLE vibecraft.payments (
    id                       uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id                  uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE RESTRICT,
    order_id                 uuid,
    stripe_payment_intent_id varchar(255),
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
    updated_at               timestamptz NOT NULL DEFAULT now(),
    -- The keys name the user: Citus keeps a table apart by it (docs/scale-out.md). A
    -- payment's order is the same user's; a Stripe payment intent is recorded once per
    -- user (Stripe makes its ids unique; a webhook finds the payment by the first column).
    PRIMARY KEY (id, user_id),
    CONSTRAINT payments_order_fkey FOREIGN KEY (order_id, user_id)
        REFERENCES vibecraft.orders (id, user_id) ON DELETE RESTRICT,
    UNIQUE (stripe_payment_intent_id, user_id)
);

CREATE INDEX payments_user_status_created_idx ON vibecraft.payments (user_id, status, created_at DESC);
CREATE INDEX payments_order_id_idx ON vibecraft.payments (order_id, user_id);
CREATE INDEX payments_status_idx ON vibecraft.payments (status);
CREATE INDEX payments_created_at_idx ON vibecraft.payments (created_at);
CREATE INDEX payments_succeeded_idx ON vibecraft.payments (created_at) WHERE status = 'succeeded';
CREATE INDEX payments_metadata_gin ON vibecraft.payments USING gin (metadata jsonb_path_ops);

CREATE TABLE vibecraft.downloads (
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    order_id           uuid,
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
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- The keys name the user: Citus keeps a table apart by it (docs/scale-out.md); a
    -- download's order is the same user's, kept while the download is (RESTRICT, as for
    -- payments: Citus cannot set part of a key that holds its distribution column NULL).
    PRIMARY KEY (id, user_id),
    CONSTRAINT downloads_order_fkey FOREIGN KEY (order_id, user_id)
        REFERENCES vibecraft.orders (id, user_id) ON DELETE RESTRICT
);

CREATE INDEX downloads_user_created_idx ON vibecraft.downloads (user_id, created_at DESC);
CREATE INDEX downloads_order_id_idx ON vibecraft.downloads (order_id, user_id);
CREATE INDEX downloads_created_at_idx ON vibecraft.downloads (created_at);
CREATE INDEX downloads_expires_at_idx ON vibecraft.downloads (expires_at) WHERE is_active;
CREATE INDEX downloads_active_idx ON vibecraft.downloads (user_id) WHERE is_active;
