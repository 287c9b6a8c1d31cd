-- Feedback, saved searches, logs, settings, monitoring and activity.

CREATE TABLE vibecraft.feedback_categories (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        varchar(50) NOT NULL UNIQUE,
    description text,
    color       varchar(7) CHECK (color ~ '^#[0-9a-fA-F]{6}$'),
    sort_order  integer NOT NULL DEFAULT 0,
    is_active   boolean NOT NULL DEFAULT true,
    is_system   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vibecraft.feedback (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    category_id   uuid REFERENCES vibecraft.feedback_categories (id) ON DELETE SET NULL,
    message       text NOT NULL CHECK (btrim(message) <> ''),
    feedback_type varchar(50) NOT NULL DEFAULT 'general'
                  CHECK (feedback_type IN ('bug', 'feature', 'improvement', 'question', 'praise', 'general', 'support')),
    priority      varchar(20) NOT NULL DEFAULT 'medium'
                  CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    status        varchar(20) NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'in_progress', 'resolved', 'closed', 'wont_fix')),
    contact_email varchar(255) CHECK (contact_email ~* '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    contact_name  varchar(100),
    user_agent    text,
    browser_info  jsonb NOT NULL DEFAULT '{}',
    device_info   jsonb NOT NULL DEFAULT '{}',
    admin_response text,
    admin_user_id uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    responded_at  timestamptz,
    rating        integer CHECK (rating BETWEEN 1 AND 5),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_user_id_idx ON vibecraft.feedback (user_id);
CREATE INDEX feedback_category_id_idx ON vibecraft.feedback (category_id);
CREATE INDEX feedback_admin_user_id_idx ON vibecraft.feedback (admin_user_id);
CREATE INDEX feedback_open_idx ON vibecraft.feedback (priority, created_at) WHERE status IN ('open', 'in_progress');

CREATE TABLE vibecraft.feedback_tags (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    feedback_id uuid NOT NULL REFERENCES vibecraft.feedback (id) ON DELETE CASCADE,
    tag         varchar(50) NOT NULL CHECK (tag ~ '^[a-z0-9][a-z0-9_-]*$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (feedback_id, tag)
);
CREATE INDEX feedback_tags_tag_idx ON vibecraft.feedback_tags (tag);

-- Daily feedback metrics, computed by maintenance.
CREATE TABLE vibecraft.feedback_analytics (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    period_date             date NOT NULL,
    feedback_type           varchar(50) NOT NULL,
    total_count             integer NOT NULL DEFAULT 0 CHECK (total_count >= 0),
    resolved_count          integer NOT NULL DEFAULT 0 CHECK (resolved_count >= 0),
    average_rating          numeric(3, 2) CHECK (average_rating BETWEEN 1 AND 5),
    avg_response_time_hours numeric(10, 2) CHECK (avg_response_time_hours >= 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (period_date, feedback_type)
);

CREATE TABLE vibecraft.saved_searches (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    name         varchar(200) NOT NULL CHECK (btrim(name) <> ''),
    search_query text NOT NULL DEFAULT '',
    filters      jsonb NOT NULL DEFAULT '{}',
    is_public    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saved_searches_user_id_idx ON vibecraft.saved_searches (user_id);
CREATE INDEX saved_searches_public_idx ON vibecraft.saved_searches (created_at DESC) WHERE is_public;
CREATE INDEX saved_searches_filters_gin ON vibecraft.saved_searches USING gin (filters jsonb_path_ops);
CREATE INDEX saved_searches_name_trgm ON vibecraft.saved_searches USING gin (name gin_trgm_ops);

CREATE TABLE vibecraft.admin_logs (
    id            uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    admin_user_id uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    action        varchar(100) NOT NULL,
    target_type   varchar(50),
    target_id     uuid,
    details       jsonb NOT NULL DEFAULT '{}',
    ip_address    inet,
    user_agent    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_logs_admin_user_id_idx ON vibecraft.admin_logs (admin_user_id);
CREATE INDEX admin_logs_created_at_idx ON vibecraft.admin_logs (created_at);
CREATE INDEX admin_logs_target_idx ON vibecraft.admin_logs (target_type, target_id);

-- The audit trail: rows written by vibecraft.audit_trigger (operation insert, update,
-- delete, truncate) and application events (ValueCanvas's action/resource rows).
-- changes holds {"before": ..., "after": ...}; for updates only the changed columns.
-- No foreign keys: a trail keeps the ids of organizations and users that were deleted
-- later, rather than being rewritten by ON DELETE SET NULL.
CREATE TABLE vibecraft.audit_logs (
    id              uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    organization_id uuid,
    user_id         uuid,
    action          varchar(50) NOT NULL,
    resource_type   varchar(128) NOT NULL,
    resource_id     text,
    table_schema    text,
    changes         jsonb,
    db_role         text NOT NULL DEFAULT current_user,
    transaction_id  bigint,
    ip_address      inet,
    user_agent      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_resource_idx ON vibecraft.audit_logs (resource_type, resource_id, created_at DESC);
CREATE INDEX audit_logs_organization_id_idx ON vibecraft.audit_logs (organization_id);
CREATE INDEX audit_logs_user_id_idx ON vibecraft.audit_logs (user_id);
CREATE INDEX audit_logs_created_at_idx ON vibecraft.audit_logs USING brin (created_at);

-- Runtime configuration; PromptCraft's system_config is a view.
CREATE TABLE vibecraft.system_settings (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key         varchar(100) NOT NULL UNIQUE CHECK (key ~ '^[a-z0-9_.]+$'),
    value       jsonb NOT NULL,
    description text,
    category    varchar(50) NOT NULL DEFAULT 'general',
    is_public   boolean NOT NULL DEFAULT false,
    is_system   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vibecraft.error_logs (
    id          uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    user_id     uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    project_id  uuid REFERENCES vibecraft.projects (id) ON DELETE SET NULL,
    error_type  varchar(100) NOT NULL,
    message     text NOT NULL,
    stack_trace text,
    severity    varchar(20) NOT NULL DEFAULT 'error'
                CHECK (severity IN ('debug', 'info', 'warning', 'error', 'critical')),
    url         text,
    user_agent  text,
    context     jsonb NOT NULL DEFAULT '{}',
    resolved    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX error_logs_user_id_idx ON vibecraft.error_logs (user_id);
CREATE INDEX error_logs_project_id_idx ON vibecraft.error_logs (project_id);
CREATE INDEX error_logs_unresolved_idx ON vibecraft.error_logs (severity, created_at) WHERE NOT resolved;

CREATE TABLE vibecraft.performance_metrics (
    id           uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    user_id      uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    metric_name  varchar(100) NOT NULL,
    metric_value double precision NOT NULL,
    unit         varchar(20) NOT NULL DEFAULT 'ms',
    tags         jsonb NOT NULL DEFAULT '{}',
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX performance_metrics_name_idx ON vibecraft.performance_metrics (metric_name, recorded_at DESC);
CREATE INDEX performance_metrics_user_id_idx ON vibecraft.performance_metrics (user_id);

CREATE TABLE vibecraft.user_activity (
    id            uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    user_id       uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    project_id    uuid REFERENCES vibecraft.projects (id) ON DELETE SET NULL,
    activity_type varchar(50) NOT NULL,
    description   text,
    metadata      jsonb NOT NULL DEFAULT '{}',
    ip_address    inet,
    user_agent    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_activity_user_id_idx ON vibecraft.user_activity (user_id, created_at DESC);
CREATE INDEX user_activity_project_id_idx ON vibecraft.user_activity (project_id);

-- Running totals behind get_user_stats, so that its cost does not grow with a user's
-- history. Kept by statement-level triggers (sql/stats.sql) on prompt_history and
-- api_usage_logs; validate_system_integrity compares them with a recount and
-- vibecraft.rebuild_stat_totals() recomputes them.
CREATE TABLE vibecraft.user_stat_totals (
    user_id    uuid PRIMARY KEY REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    prompts    bigint NOT NULL DEFAULT 0 CHECK (prompts >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vibecraft.user_provider_totals (
    user_id    uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    provider   varchar(50) NOT NULL,
    calls      bigint NOT NULL DEFAULT 0 CHECK (calls >= 0),
    errors     bigint NOT NULL DEFAULT 0 CHECK (errors >= 0),
    tokens     bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    cost_usd   numeric(16, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, provider)
);

-- Archives of the two log tables: daily_maintenance moves rows older than the
-- maintenance.archive_after_days setting here, in batches (archive_old_admin_logs).
-- Same columns; no foreign keys, so archived rows outlive what they name.
CREATE TABLE vibecraft.admin_logs_archive (LIKE vibecraft.admin_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE vibecraft.admin_logs_archive ADD PRIMARY KEY (id);
CREATE INDEX admin_logs_archive_created_at_idx ON vibecraft.admin_logs_archive (created_at);
CREATE TABLE vibecraft.audit_logs_archive (LIKE vibecraft.audit_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE vibecraft.audit_logs_archive ADD PRIMARY KEY (id);
CREATE INDEX audit_logs_archive_created_at_idx ON vibecraft.audit_logs_archive (created_at);
-- A BRIN index finds old audit rows for archiving at almost no cost to each insert.
CREATE INDEX audit_logs_created_at_brin ON vibecraft.audit_logs USING brin (created_at);
