-- The audit trail: audit_logs, its archive, and turning auditing on for any table (src/triggers/audit.rs).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

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

-- @since 0.2.0
CREATE TABLE vibecraft.audit_logs_archive (LIKE vibecraft.audit_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS);

-- @since 0.2.0
ALTER TABLE vibecraft.audit_logs_archive ADD PRIMARY KEY (id);

-- @since 0.2.0
CREATE INDEX audit_logs_archive_created_at_idx ON vibecraft.audit_logs_archive (created_at);
