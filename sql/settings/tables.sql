-- System settings (system_config).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

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

INSERT INTO vibecraft.system_settings (key, value, description, category, is_public, is_system)
VALUES
    ('app.maintenance_mode', 'false', 'Refuse writes from applications while true', 'app', true, true),
    ('maintenance.archive_after_days', '90', 'daily_maintenance moves admin and audit log rows older than this many days to the archive tables', 'maintenance', false, true),
    ('features.history', 'true', 'Prompt history is recorded', 'features', true, true),
    ('features.feedback', 'true', 'The feedback form is shown', 'features', true, true),
    ('features.analytics', 'false', 'Usage analytics are collected', 'features', true, true),
    ('rate_limit.api_calls_per_hour', '100', 'Default API calls per user and hour', 'rate_limits', false, true),
    ('credits.signup_bonus', '100', 'Credits a new user starts with', 'credits', false, true),
    ('maintenance.audit_log_retention_days', '365', 'Audit rows older than this move to the archive', 'maintenance', false, true),
    ('maintenance.admin_log_retention_days', '90', 'Admin log rows older than this move to the archive', 'maintenance', false, true),
    ('maintenance.batch_size', '5000', 'Rows moved per batch by maintenance jobs', 'maintenance', false, true);

-- Installed rows get the same ids in every database (derived from their keys), so
-- that rows referring to them still do after a dump is restored into a fresh install.
-- @since 0.2.0
UPDATE vibecraft.system_settings SET id = md5('vibecraft.system_settings:' || key)::uuid WHERE is_system;
