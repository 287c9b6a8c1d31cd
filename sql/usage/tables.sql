-- Provider usage logs (api_usage) and log_api_usage.
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- Every provider call; Visual Prompt Builder's api_usage is a view.
CREATE TABLE vibecraft.api_usage_logs (
    id               uuid NOT NULL DEFAULT vibecraft.uuid_generate_v7(),
    user_id          uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
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
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- The key names its user: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, user_id)
);

CREATE INDEX api_usage_logs_user_id_idx ON vibecraft.api_usage_logs (user_id, created_at DESC);
CREATE INDEX api_usage_logs_project_id_idx ON vibecraft.api_usage_logs (project_id);
CREATE INDEX api_usage_logs_api_key_id_idx ON vibecraft.api_usage_logs (api_key_id);
CREATE INDEX api_usage_logs_provider_idx ON vibecraft.api_usage_logs (provider, created_at);

ALTER TABLE vibecraft.api_usage_logs
    ADD CONSTRAINT api_usage_logs_api_key_id_fkey
    FOREIGN KEY (api_key_id) REFERENCES vibecraft.api_keys (id) ON DELETE SET NULL;
