-- Operational logs: admin actions, errors, performance metrics, user activity, and the admin log archive.
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- admin_logs, error_logs and performance_metrics name users and projects without foreign
-- keys, as audit_logs does: a log outlives what it describes, and on a Citus cluster these
-- tables stay on the coordinator, where a key to a table copied to every node is refused
-- (docs/scale-out.md). Their policies still let a caller name only itself and projects it sees.

CREATE TABLE vibecraft.admin_logs (
    id            uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    admin_user_id uuid,
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

CREATE TABLE vibecraft.error_logs (
    id          uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    user_id     uuid,
    project_id  uuid,
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
    user_id      uuid,
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
    id            uuid NOT NULL DEFAULT vibecraft.uuid_generate_v7(),
    user_id       uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    project_id    uuid REFERENCES vibecraft.projects (id) ON DELETE SET NULL,
    activity_type varchar(50) NOT NULL,
    description   text,
    metadata      jsonb NOT NULL DEFAULT '{}',
    ip_address    inet,
    user_agent    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- The key names its user: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, user_id)
);

CREATE INDEX user_activity_user_id_idx ON vibecraft.user_activity (user_id, created_at DESC);
CREATE INDEX user_activity_project_id_idx ON vibecraft.user_activity (project_id);

-- Archives of the two log tables: daily_maintenance moves rows older than the
-- maintenance.archive_after_days setting here, in batches (archive_old_admin_logs).
-- Same columns; no foreign keys, so archived rows outlive what they name.
-- @since 0.2.0
CREATE TABLE vibecraft.admin_logs_archive (LIKE vibecraft.admin_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS);

-- @since 0.2.0
ALTER TABLE vibecraft.admin_logs_archive ADD PRIMARY KEY (id);

-- @since 0.2.0
CREATE INDEX admin_logs_archive_created_at_idx ON vibecraft.admin_logs_archive (created_at);
