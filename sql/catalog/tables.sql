-- The AI catalog: providers (api_providers), prompt frameworks, prompt templates (templates).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- The provider catalogue; PromptCraft's api_providers is a view of it.
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

-- Reference data installed with the extension (is_system = true; pg_dump skips these
-- rows because CREATE EXTENSION re-creates them).

INSERT INTO vibecraft.ai_providers
    (name, display_name, base_url, api_key_pattern, max_requests_per_minute, max_requests_per_day, supported_models, is_system)
VALUES
    ('openai', 'OpenAI', 'https://api.openai.com/v1', '^sk-(proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}$', 500, 10000,
     '["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini"]', true),
    ('anthropic', 'Anthropic', 'https://api.anthropic.com/v1', '^sk-ant-[A-Za-z0-9_-]{20,}$', 50, 5000,
     '["claude-sonnet-4", "claude-opus-4", "claude-3-5-haiku"]', true),
    ('google', 'Google Gemini', 'https://generativelanguage.googleapis.com/v1beta', '^AIza[0-9A-Za-z_-]{35}$', 60, 1500,
     '["gemini-2.0-flash", "gemini-1.5-pro"]', true),
    ('mistral', 'Mistral AI', 'https://api.mistral.ai/v1', '^[A-Za-z0-9]{32}$', 60, 10000,
     '["mistral-large-latest", "mistral-small-latest", "codestral-latest"]', true),
    ('groq', 'Groq', 'https://api.groq.com/openai/v1', '^gsk_[A-Za-z0-9]{20,}$', 30, 14400,
     '["llama-3.3-70b-versatile", "llama-3.1-8b-instant"]', true),
    ('cohere', 'Cohere', 'https://api.cohere.com/v2', '^[A-Za-z0-9]{40}$', 100, 1000,
     '["command-r-plus", "command-r"]', true);

INSERT INTO vibecraft.prompt_frameworks (name, display_name, description, components, template, sort_order, is_system)
VALUES
    ('costar', 'CO-STAR', 'Context, Objective, Style, Tone, Audience, Response format.',
     '["context", "objective", "style", "tone", "audience", "response"]',
     E'# Context\n{context}\n# Objective\n{objective}\n# Style\n{style}\n# Tone\n{tone}\n# Audience\n{audience}\n# Response\n{response}', 10, true),
    ('risen', 'RISEN', 'Role, Instructions, Steps, End goal, Narrowing.',
     '["role", "instructions", "steps", "end_goal", "narrowing"]',
     E'Role: {role}\nInstructions: {instructions}\nSteps: {steps}\nEnd goal: {end_goal}\nNarrowing: {narrowing}', 20, true),
    ('race', 'RACE', 'Role, Action, Context, Expectation.',
     '["role", "action", "context", "expectation"]',
     E'Role: {role}\nAction: {action}\nContext: {context}\nExpectation: {expectation}', 30, true),
    ('crispe', 'CRISPE', 'Capacity and role, Insight, Statement, Personality, Experiment.',
     '["capacity", "insight", "statement", "personality", "experiment"]',
     E'Act as {capacity}.\nInsight: {insight}\nStatement: {statement}\nPersonality: {personality}\nExperiment: {experiment}', 40, true),
    ('rtf', 'RTF', 'Role, Task, Format.', '["role", "task", "format"]',
     E'Role: {role}\nTask: {task}\nFormat: {format}', 50, true),
    ('tag', 'TAG', 'Task, Action, Goal.', '["task", "action", "goal"]',
     E'Task: {task}\nAction: {action}\nGoal: {goal}', 60, true);

-- The rows installed here get the same ids in every database (derived from their
-- names), so that rows referring to them (feedback.category_id, project_assets.bucket_id)
-- still point at them after a dump is restored into a fresh CREATE EXTENSION.
-- @since 0.2.0
UPDATE vibecraft.ai_providers SET id = md5('vibecraft.ai_providers:' || name)::uuid WHERE is_system;

-- @since 0.2.0
UPDATE vibecraft.prompt_frameworks SET id = md5('vibecraft.prompt_frameworks:' || name)::uuid WHERE is_system;
