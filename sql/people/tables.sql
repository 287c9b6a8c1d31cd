-- People and tenancy: organizations, users (behind users / user_profiles), preferences, saved searches.
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- Conventions for every vibecraft table: uuid primary key, created_at/updated_at
-- (updated_at kept by vibecraft.set_updated_at), CHECK constraints for enum-like
-- columns, every foreign key indexed.

CREATE TABLE vibecraft.organizations (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          varchar(200) NOT NULL CHECK (btrim(name) <> ''),
    slug          varchar(100) NOT NULL UNIQUE
                  CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    tier          varchar(20) NOT NULL DEFAULT 'FREE'
                  CHECK (tier IN ('FREE', 'PRO', 'ENTERPRISE')),
    feature_flags jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(feature_flags) = 'object'),
    limits        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(limits) = 'object'),
    settings      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);

CREATE INDEX organizations_name_trgm ON vibecraft.organizations USING gin (name gin_trgm_ops);

-- The enum-like CHECKs of users compare with one array constant rather than an IN list:
-- PostgreSQL reads and plans every CHECK constraint of a table again for each statement
-- that writes one of its rows, whichever columns it sets, and an IN list over varchar is
-- stored as an array built from casts, element by element, twice the text to read and
-- fold. Every credit change writes a users row (bench/results.md). Same rule, same name.
CREATE TABLE vibecraft.users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id     uuid REFERENCES vibecraft.organizations (id) ON DELETE RESTRICT,
    -- NULL for users without an address (Auth.js allows it; PromptCraft profiles omit it).
    email               varchar(255)
                        CHECK (email ~* '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    email_verified      timestamptz,
    name                varchar(200),
    full_name           varchar(200),
    display_name        varchar(100),
    image               text,
    avatar_url          text,
    bio                 text,
    -- Role inside the organization (ValueCanvas).
    role                varchar(20) NOT NULL DEFAULT 'MEMBER'
                        CHECK (role::text = ANY ('{ADMIN,MANAGER,MEMBER}'::text[])),
    -- Platform-wide role: 'admin' users see everything (Creo's admins).
    system_role         varchar(20) NOT NULL DEFAULT 'user'
                        CHECK (system_role::text = ANY ('{user,admin}'::text[])),
    status              varchar(20) NOT NULL DEFAULT 'ACTIVE'
                        CHECK (status::text = ANY ('{ACTIVE,INACTIVE,INVITED,SUSPENDED}'::text[])),
    is_active           boolean NOT NULL DEFAULT true,
    preferences         jsonb NOT NULL DEFAULT '{}',
    subscription_plan   varchar(30) NOT NULL DEFAULT 'free'
                        CHECK (subscription_plan::text = ANY ('{free,basic,pro,enterprise}'::text[])),
    subscription_status varchar(30) NOT NULL DEFAULT 'active'
                        CHECK (subscription_status::text = ANY ('{active,trialing,past_due,canceled,incomplete,unpaid}'::text[])),
    metadata            jsonb NOT NULL DEFAULT '{}',
    last_login_at       timestamptz,
    last_activity_at    timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz
    -- The credit balance lives in vibecraft.credit_balances (sql/credits/tables.sql).
);
-- One account per address, compared case-insensitively, among live users.
CREATE UNIQUE INDEX users_email_key ON vibecraft.users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX users_organization_id_idx ON vibecraft.users (organization_id);
CREATE INDEX users_subscription_plan_idx ON vibecraft.users (subscription_plan);
CREATE INDEX users_created_at_idx ON vibecraft.users (created_at);
CREATE INDEX users_metadata_gin ON vibecraft.users USING gin (metadata jsonb_path_ops);
CREATE INDEX users_full_name_trgm ON vibecraft.users USING gin (full_name gin_trgm_ops);

CREATE TABLE vibecraft.user_preferences (
    id                       uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id                  uuid NOT NULL UNIQUE REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    selected_model           varchar(50),
    selected_framework       varchar(50),
    theme                    varchar(20) NOT NULL DEFAULT 'system'
                             CHECK (theme IN ('light', 'dark', 'system')),
    language                 varchar(10) NOT NULL DEFAULT 'en',
    timezone                 varchar(64) NOT NULL DEFAULT 'UTC',
    enable_notifications     boolean NOT NULL DEFAULT true,
    enable_analytics         boolean NOT NULL DEFAULT false,
    enable_history           boolean NOT NULL DEFAULT true,
    enable_feedback          boolean NOT NULL DEFAULT true,
    max_history_days         integer NOT NULL DEFAULT 90 CHECK (max_history_days BETWEEN 1 AND 3650),
    auto_cleanup             boolean NOT NULL DEFAULT false,
    notification_preferences jsonb NOT NULL DEFAULT '{}',
    accessibility            jsonb NOT NULL DEFAULT '{}',
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    -- The key names its user: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, user_id)
);

CREATE TABLE vibecraft.saved_searches (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    name         varchar(200) NOT NULL CHECK (btrim(name) <> ''),
    search_query text NOT NULL DEFAULT '',
    filters      jsonb NOT NULL DEFAULT '{}',
    is_public    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- The key names its user: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, user_id)
);

CREATE INDEX saved_searches_user_id_idx ON vibecraft.saved_searches (user_id);
CREATE INDEX saved_searches_public_idx ON vibecraft.saved_searches (created_at DESC) WHERE is_public;
CREATE INDEX saved_searches_filters_gin ON vibecraft.saved_searches USING gin (filters jsonb_path_ops);
CREATE INDEX saved_searches_name_trgm ON vibecraft.saved_searches USING gin (name gin_trgm_ops);
