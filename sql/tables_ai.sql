-- AI: the provider catalogue (ai_providers; PromptCraft's api_providers is a view),
-- users' encrypted provider keys, prompt frameworks and templates, usage logs.

CREATE TABLE vibecraft.ai_providers (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                    varchar(50) NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9_-]+$'),
    display_name            varchar(100) NOT NULL,
    base_url                text,
    -- A POSIX regular expression a key for this provider must match.
    api_key_pattern         text,
    is_enabled              boolean NOT NULL DEFAULT true,
    max_requests_per_minute integer CHECK (max_requests_per_minute > 0),
    max_requests_per_day    integer CHECK (max_requests_per_day > 0),
    supported_models        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(supported_models) = 'array'),
    validation_rules        jsonb NOT NULL DEFAULT '{}',
    is_system               boolean NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

-- A user's key for one provider, encrypted (see vibecraft.save_provider_key).
CREATE TABLE vibecraft.api_configurations (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
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
    UNIQUE (user_id, provider)
);
CREATE INDEX api_configurations_provider_idx ON vibecraft.api_configurations (provider);

CREATE TABLE vibecraft.prompt_frameworks (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         varchar(50) NOT NULL UNIQUE,
    display_name varchar(100) NOT NULL,
    description  text,
    components   jsonb NOT NULL DEFAULT '[]',
    template     text,
    examples     jsonb NOT NULL DEFAULT '[]',
    is_enabled   boolean NOT NULL DEFAULT true,
    sort_order   integer NOT NULL DEFAULT 0,
    is_system    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Reusable templates; VibeCraft's templates is a view. user_id NULL = system template.
CREATE TABLE vibecraft.prompt_templates (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    name             varchar(100) NOT NULL CHECK (btrim(name) <> ''),
    description      text,
    category         varchar(50),
    framework_id     varchar(50),
    template_content text NOT NULL,
    variables        jsonb NOT NULL DEFAULT '[]',
    tags             text[] NOT NULL DEFAULT '{}',
    is_public        boolean NOT NULL DEFAULT false,
    is_active        boolean NOT NULL DEFAULT true,
    usage_count      integer NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
    search           tsvector GENERATED ALWAYS AS (
                         setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') ||
                         setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B') ||
                         setweight(to_tsvector('english'::regconfig, coalesce(template_content, '')), 'C')) STORED,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prompt_templates_user_id_idx ON vibecraft.prompt_templates (user_id);
CREATE INDEX prompt_templates_public_idx ON vibecraft.prompt_templates (created_at DESC)
    WHERE is_public AND is_active;
CREATE INDEX prompt_templates_search_idx ON vibecraft.prompt_templates USING gin (search);
CREATE INDEX prompt_templates_name_trgm ON vibecraft.prompt_templates USING gin (name gin_trgm_ops);

-- Every provider call; Visual Prompt Builder's api_usage is a view.
CREATE TABLE vibecraft.api_usage_logs (
    id               uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    user_id          uuid REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    project_id       uuid REFERENCES vibecraft.projects (id) ON DELETE SET NULL,
    api_key_id       uuid,
    provider         varchar(50) NOT NULL,
    model            varchar(100),
    endpoint         text,
    request_size     integer CHECK (request_size >= 0),
    response_size    integer CHECK (response_size >= 0),
    response_time_ms integer CHECK (response_time_ms >= 0),
    status_code      integer CHECK (status_code BETWEEN 100 AND 599),
    prompt_tokens    integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    tokens_used      integer GENERATED ALWAYS AS (prompt_tokens + completion_tokens) STORED,
    cost_usd         numeric(12, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    error_message    text,
    metadata         jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_usage_logs_user_id_idx ON vibecraft.api_usage_logs (user_id, created_at DESC);
CREATE INDEX api_usage_logs_project_id_idx ON vibecraft.api_usage_logs (project_id);
CREATE INDEX api_usage_logs_api_key_id_idx ON vibecraft.api_usage_logs (api_key_id);
CREATE INDEX api_usage_logs_provider_idx ON vibecraft.api_usage_logs (provider, created_at);
