-- Projects and their members (collaborators), settings, components, knowledge, and prompt history (project_prompts, prompt_generations).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

CREATE TABLE vibecraft.projects (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    organization_id uuid REFERENCES vibecraft.organizations (id) ON DELETE CASCADE,
    name            varchar(200) NOT NULL CHECK (btrim(name) <> ''),
    description     text,
    status          varchar(20) NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'archived', 'draft')),
    is_public       boolean NOT NULL DEFAULT false,
    settings        jsonb NOT NULL DEFAULT '{}',
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);

CREATE INDEX projects_user_id_idx ON vibecraft.projects (user_id, created_at DESC);
CREATE INDEX projects_organization_id_idx ON vibecraft.projects (organization_id);
CREATE INDEX projects_name_trgm ON vibecraft.projects USING gin (name gin_trgm_ops);

-- Team roles, strongest first: owner > admin > editor > viewer.
-- Visual Prompt Builder's collaborators is a view of this table.
CREATE TABLE vibecraft.project_members (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES vibecraft.projects (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    role       varchar(20) NOT NULL DEFAULT 'viewer'
               CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    invited_by uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, user_id)
);

CREATE INDEX project_members_user_id_idx ON vibecraft.project_members (user_id, project_id);
CREATE INDEX project_members_invited_by_idx ON vibecraft.project_members (invited_by);

-- Invitations to join a project: the invitee accepts (accept_project_invitation), so no
-- one becomes a member of a project without saying yes.
-- @since 0.2.0
CREATE TABLE vibecraft.project_invitations (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES vibecraft.projects (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    role       varchar(20) NOT NULL DEFAULT 'viewer' CHECK (role IN ('admin', 'editor', 'viewer')),
    invited_by uuid DEFAULT vibecraft.current_user_id() REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    expires_at timestamptz NOT NULL DEFAULT now() + interval '14 days',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, user_id),
    -- The key names its project: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, project_id)
);
-- @since 0.2.0
CREATE INDEX project_invitations_user_id_idx ON vibecraft.project_invitations (user_id);
-- @since 0.2.0
CREATE INDEX project_invitations_invited_by_idx ON vibecraft.project_invitations (invited_by);

-- One table for every prompt a user ran: PromptCraft's prompt_history, and (with a
-- project) VibeCraft's project_prompts and Visual Prompt Builder's prompt_generations.
CREATE TABLE vibecraft.prompt_history (
    id                 uuid NOT NULL DEFAULT vibecraft.uuid_generate_v7(),
    user_id            uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    project_id         uuid REFERENCES vibecraft.projects (id) ON DELETE CASCADE,
    framework_id       varchar(50),
    framework_name     varchar(100),
    model              varchar(50),
    provider           varchar(50),
    user_input         text NOT NULL,
    ai_response        text,
    tone               varchar(50),
    length             varchar(50),
    temperature        numeric(3, 2) CHECK (temperature BETWEEN 0 AND 2),
    max_tokens         integer CHECK (max_tokens > 0),
    vibe_coding        boolean NOT NULL DEFAULT false,
    processing_time_ms integer CHECK (processing_time_ms >= 0),
    tokens_used        integer NOT NULL DEFAULT 0 CHECK (tokens_used >= 0),
    cost_usd           numeric(12, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    status             varchar(20) NOT NULL DEFAULT 'completed'
                       CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    error_message      text,
    error_code         varchar(50),
    metadata           jsonb NOT NULL DEFAULT '{}',
    search             tsvector GENERATED ALWAYS AS (
                           to_tsvector('english'::regconfig,
                               coalesce(user_input, '') || ' ' || coalesce(ai_response, ''))) STORED,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- The key names its user: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, user_id)
);

CREATE INDEX prompt_history_user_id_idx ON vibecraft.prompt_history (user_id, created_at DESC);
CREATE INDEX prompt_history_project_id_idx ON vibecraft.prompt_history (project_id, created_at DESC)
    WHERE project_id IS NOT NULL;

CREATE INDEX prompt_history_search_idx ON vibecraft.prompt_history USING gin (search);

CREATE TABLE vibecraft.project_knowledge (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    project_id   uuid NOT NULL REFERENCES vibecraft.projects (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    title        varchar(300) NOT NULL,
    content      text NOT NULL DEFAULT '',
    content_type varchar(50) NOT NULL DEFAULT 'text'
                 CHECK (content_type IN ('text', 'markdown', 'html', 'url', 'file', 'code')),
    source_url   text,
    tags         text[] NOT NULL DEFAULT '{}',
    metadata     jsonb NOT NULL DEFAULT '{}',
    search       tsvector GENERATED ALWAYS AS (
                     setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
                     setweight(to_tsvector('english'::regconfig, coalesce(content, '')), 'B')) STORED,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- The key names its project: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, project_id)
);

CREATE INDEX project_knowledge_project_id_idx ON vibecraft.project_knowledge (project_id);
CREATE INDEX project_knowledge_user_id_idx ON vibecraft.project_knowledge (user_id);
CREATE INDEX project_knowledge_search_idx ON vibecraft.project_knowledge USING gin (search);
CREATE INDEX project_knowledge_metadata_gin ON vibecraft.project_knowledge USING gin (metadata jsonb_path_ops);

CREATE TABLE vibecraft.project_settings (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES vibecraft.projects (id) ON DELETE CASCADE,
    key        varchar(100) NOT NULL CHECK (btrim(key) <> ''),
    value      jsonb NOT NULL DEFAULT 'null',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, key),
    -- The key names its project: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, project_id)
);

-- Components dragged onto a Visual Prompt Builder canvas.
CREATE TABLE vibecraft.project_components (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    project_id     uuid NOT NULL REFERENCES vibecraft.projects (id) ON DELETE CASCADE,
    user_id        uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    component_type varchar(50) NOT NULL,
    name           varchar(200),
    position       jsonb NOT NULL DEFAULT '{"x": 0, "y": 0}',
    config         jsonb NOT NULL DEFAULT '{}',
    sort_order     integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- The key names its project: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, project_id)
);

CREATE INDEX project_components_project_id_idx ON vibecraft.project_components (project_id, sort_order);
CREATE INDEX project_components_user_id_idx ON vibecraft.project_components (user_id);
