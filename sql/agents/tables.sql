-- ValueCanvas: AI agents, their executions, canvas models and canvases.
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- ValueCanvas: AI agents, their executions, canvas models (templates) and canvases.
CREATE TABLE vibecraft.agents (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES vibecraft.organizations (id) ON DELETE CASCADE,
    created_by      uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    name            varchar(200) NOT NULL,
    agent_type      varchar(30) NOT NULL
                    CHECK (agent_type IN ('opportunity', 'target', 'realization', 'expansion', 'integrity', 'custom')),
    description     text,
    config          jsonb NOT NULL DEFAULT '{}',
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    is_active       boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    -- The key names its organization: Citus keeps a table apart by it (docs/scale-out.md),
    -- and rows of the same organization refer to an agent by (id, organization_id).
    PRIMARY KEY (id, organization_id)
);

CREATE INDEX agents_organization_id_idx ON vibecraft.agents (organization_id);
CREATE INDEX agents_created_by_idx ON vibecraft.agents (created_by);

CREATE TABLE vibecraft.executions (
    id              uuid NOT NULL DEFAULT vibecraft.uuid_generate_v7(),
    organization_id uuid NOT NULL REFERENCES vibecraft.organizations (id) ON DELETE CASCADE,
    agent_id        uuid NOT NULL,
    user_id         uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    status          varchar(20) NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    input           jsonb NOT NULL DEFAULT '{}',
    output          jsonb,
    error_message   text,
    started_at      timestamptz,
    completed_at    timestamptz CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at),
    duration_ms     integer CHECK (duration_ms >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- An execution runs an agent of its own organization.
    CONSTRAINT executions_agent_fkey FOREIGN KEY (agent_id, organization_id)
        REFERENCES vibecraft.agents (id, organization_id) ON DELETE CASCADE,
    -- The key names its organization: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, organization_id)
);

CREATE INDEX executions_organization_id_idx ON vibecraft.executions (organization_id, created_at DESC);
-- @since 0.2.0
CREATE INDEX executions_agent_id_idx ON vibecraft.executions (agent_id, organization_id, created_at DESC);
CREATE INDEX executions_user_id_idx ON vibecraft.executions (user_id);

CREATE TABLE vibecraft.models (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES vibecraft.organizations (id) ON DELETE CASCADE,
    created_by      uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    name            varchar(200) NOT NULL,
    description     text,
    schema          jsonb NOT NULL DEFAULT '{}',
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    is_published    boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    -- The key names its organization: Citus keeps a table apart by it (docs/scale-out.md),
    -- and canvases of the same organization refer to a model by (id, organization_id).
    PRIMARY KEY (id, organization_id)
);

CREATE INDEX models_organization_id_idx ON vibecraft.models (organization_id);
CREATE INDEX models_created_by_idx ON vibecraft.models (created_by);

CREATE TABLE vibecraft.canvases (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES vibecraft.organizations (id) ON DELETE CASCADE,
    -- A model in use by a canvas cannot be deleted.
    model_id        uuid NOT NULL,
    user_id         uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    name            varchar(200) NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    is_shared       boolean NOT NULL DEFAULT false,
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    -- A canvas uses a model of its own organization.
    CONSTRAINT canvases_model_fkey FOREIGN KEY (model_id, organization_id)
        REFERENCES vibecraft.models (id, organization_id) ON DELETE RESTRICT,
    -- The key names its organization: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, organization_id)
);

CREATE INDEX canvases_organization_id_idx ON vibecraft.canvases (organization_id);
-- @since 0.2.0
CREATE INDEX canvases_model_id_idx ON vibecraft.canvases (model_id, organization_id);
CREATE INDEX canvases_user_id_idx ON vibecraft.canvases (user_id);
