-- vibecraft 0.1.0 -> 0.2.0, the hand-written steps: what changes in tables that already
-- hold rows. make upgrade-scripts assembles sql/vibecraft--0.1.0--0.2.0.sql from this
-- file, the statements marked `-- @since 0.2.0` in sql/*/tables.sql (placed at
-- @new-objects) and every room's re-runnable rules (placed at @rules).

-- Triggers stay quiet while the upgrade fills in derived columns: the rows' updated_at
-- and audit trail are untouched.
SET LOCAL session_replication_role = replica;

-- users' enum-like CHECKs in the compact form of people/tables.sql (same rules, same
-- names), without a scan under an exclusive lock: added NOT VALID, then validated.
ALTER TABLE vibecraft.users
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role::text = ANY ('{ADMIN,MANAGER,MEMBER}'::text[])) NOT VALID,
    DROP CONSTRAINT users_system_role_check,
    ADD CONSTRAINT users_system_role_check CHECK (system_role::text = ANY ('{user,admin}'::text[])) NOT VALID,
    DROP CONSTRAINT users_status_check,
    ADD CONSTRAINT users_status_check CHECK (status::text = ANY ('{ACTIVE,INACTIVE,INVITED,SUSPENDED}'::text[])) NOT VALID,
    DROP CONSTRAINT users_subscription_plan_check,
    ADD CONSTRAINT users_subscription_plan_check CHECK (subscription_plan::text = ANY ('{free,basic,pro,enterprise}'::text[])) NOT VALID,
    DROP CONSTRAINT users_subscription_status_check,
    ADD CONSTRAINT users_subscription_status_check
        CHECK (subscription_status::text = ANY ('{active,trialing,past_due,canceled,incomplete,unpaid}'::text[])) NOT VALID;
ALTER TABLE vibecraft.users VALIDATE CONSTRAINT users_role_check;
ALTER TABLE vibecraft.users VALIDATE CONSTRAINT users_system_role_check;
ALTER TABLE vibecraft.users VALIDATE CONSTRAINT users_status_check;
ALTER TABLE vibecraft.users VALIDATE CONSTRAINT users_subscription_plan_check;
ALTER TABLE vibecraft.users VALIDATE CONSTRAINT users_subscription_status_check;

-- Installed reference rows get ids derived from their names (the @since statements
-- below); the rows that refer to them follow first.
UPDATE vibecraft.feedback f SET category_id = md5('vibecraft.feedback_categories:' || c.name)::uuid
  FROM vibecraft.feedback_categories c WHERE c.id = f.category_id AND c.is_system;
UPDATE vibecraft.project_assets a SET bucket_id = md5('vibecraft.storage_buckets:' || b.name)::uuid
  FROM vibecraft.storage_buckets b WHERE b.id = a.bucket_id AND b.is_system;

-- The keys of the tables Citus would distribute name their tenant column (docs/scale-out.md),
-- and rows refer to a row of the same tenant by (id, tenant): an execution or a canvas can
-- never point into another organization, nor a payment or a download to another user's
-- order. Rebuilding a key reads its table once, under a lock that holds off writes.
-- A usage row without a user could only have been written by hand (log_api_usage always
-- names one); it would have no shard, so the upgrade stops rather than drop it.
DO $usage$
DECLARE
    orphans bigint := (SELECT count(*) FROM vibecraft.api_usage_logs WHERE user_id IS NULL);
BEGIN
    IF orphans > 0 THEN
        RAISE EXCEPTION 'vibecraft 0.2.0: % rows of vibecraft.api_usage_logs have no user_id', orphans
            USING ERRCODE = '23502',
                  HINT = 'Give them their user (UPDATE vibecraft.api_usage_logs SET user_id = ...) or delete them, then run ALTER EXTENSION vibecraft UPDATE again.';
    END IF;
END
$usage$;
ALTER TABLE vibecraft.api_usage_logs ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE vibecraft.executions DROP CONSTRAINT executions_agent_id_fkey;
ALTER TABLE vibecraft.canvases DROP CONSTRAINT canvases_model_id_fkey;
ALTER TABLE vibecraft.payments DROP CONSTRAINT payments_order_id_fkey,
    DROP CONSTRAINT payments_stripe_payment_intent_id_key;
ALTER TABLE vibecraft.downloads DROP CONSTRAINT downloads_order_id_fkey;
ALTER TABLE vibecraft.project_assets DROP CONSTRAINT project_assets_bucket_id_file_path_key;
ALTER TABLE vibecraft.agents DROP CONSTRAINT agents_pkey, ADD PRIMARY KEY (id, organization_id);
ALTER TABLE vibecraft.canvases DROP CONSTRAINT canvases_pkey, ADD PRIMARY KEY (id, organization_id);
ALTER TABLE vibecraft.executions DROP CONSTRAINT executions_pkey, ADD PRIMARY KEY (id, organization_id);
ALTER TABLE vibecraft.models DROP CONSTRAINT models_pkey, ADD PRIMARY KEY (id, organization_id);
ALTER TABLE vibecraft.api_configurations DROP CONSTRAINT api_configurations_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.api_usage_logs DROP CONSTRAINT api_usage_logs_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.credit_ledger DROP CONSTRAINT credit_ledger_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.downloads DROP CONSTRAINT downloads_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.orders DROP CONSTRAINT orders_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.payments DROP CONSTRAINT payments_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.prompt_history DROP CONSTRAINT prompt_history_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.saved_searches DROP CONSTRAINT saved_searches_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.user_activity DROP CONSTRAINT user_activity_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.user_preferences DROP CONSTRAINT user_preferences_pkey, ADD PRIMARY KEY (id, user_id);
ALTER TABLE vibecraft.project_assets DROP CONSTRAINT project_assets_pkey, ADD PRIMARY KEY (id, project_id);
ALTER TABLE vibecraft.project_components DROP CONSTRAINT project_components_pkey, ADD PRIMARY KEY (id, project_id);
ALTER TABLE vibecraft.project_knowledge DROP CONSTRAINT project_knowledge_pkey, ADD PRIMARY KEY (id, project_id);
ALTER TABLE vibecraft.project_settings DROP CONSTRAINT project_settings_pkey, ADD PRIMARY KEY (id, project_id);
ALTER TABLE vibecraft.feedback_tags DROP CONSTRAINT feedback_tags_pkey, ADD PRIMARY KEY (id, feedback_id);
ALTER TABLE vibecraft.sessions DROP CONSTRAINT sessions_pkey, ADD PRIMARY KEY (id, session_token);
ALTER TABLE vibecraft.executions ADD CONSTRAINT executions_agent_fkey FOREIGN KEY (agent_id, organization_id)
    REFERENCES vibecraft.agents (id, organization_id) ON DELETE CASCADE;
ALTER TABLE vibecraft.canvases ADD CONSTRAINT canvases_model_fkey FOREIGN KEY (model_id, organization_id)
    REFERENCES vibecraft.models (id, organization_id) ON DELETE RESTRICT;
ALTER TABLE vibecraft.payments ADD CONSTRAINT payments_order_fkey FOREIGN KEY (order_id, user_id)
        REFERENCES vibecraft.orders (id, user_id) ON DELETE RESTRICT,
    ADD UNIQUE (stripe_payment_intent_id, user_id);
ALTER TABLE vibecraft.downloads ADD CONSTRAINT downloads_order_fkey FOREIGN KEY (order_id, user_id)
    REFERENCES vibecraft.orders (id, user_id) ON DELETE RESTRICT;
ALTER TABLE vibecraft.project_assets ADD UNIQUE (bucket_id, file_path, project_id);
-- The indexes behind the new foreign keys: those of executions and canvases are created
-- again (@since) with the organization column; those of payments and downloads here.
DROP INDEX vibecraft.executions_agent_id_idx;
DROP INDEX vibecraft.canvases_model_id_idx;
DROP INDEX vibecraft.payments_order_id_idx;
CREATE INDEX payments_order_id_idx ON vibecraft.payments (order_id, user_id);
DROP INDEX vibecraft.downloads_order_id_idx;
CREATE INDEX downloads_order_id_idx ON vibecraft.downloads (order_id, user_id);

-- A feedback tag carries its feedback's sender, which its policy reads (the index on it
-- comes with @new-objects).
ALTER TABLE vibecraft.feedback_tags ADD COLUMN user_id uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL;
UPDATE vibecraft.feedback_tags t SET user_id = f.user_id FROM vibecraft.feedback f WHERE f.id = t.feedback_id;

-- Logs name users and projects without foreign keys (sql/logs/tables.sql says why).
ALTER TABLE vibecraft.admin_logs DROP CONSTRAINT admin_logs_admin_user_id_fkey;
ALTER TABLE vibecraft.error_logs DROP CONSTRAINT error_logs_user_id_fkey,
                                 DROP CONSTRAINT error_logs_project_id_fkey;
ALTER TABLE vibecraft.performance_metrics DROP CONSTRAINT performance_metrics_user_id_fkey;

-- @new-objects

-- The balance moves out of the wide users row into credit_balances (created just above):
-- every user gets its row, with its credits and the lifetime spending its ledger shows.
-- The views that read users.credits go first; the rules below create them again.
INSERT INTO vibecraft.credit_balances (user_id, credits, credits_spent)
SELECT u.id, u.credits,
       coalesce((SELECT -sum(l.amount) FROM vibecraft.credit_ledger l WHERE l.user_id = u.id AND l.amount < 0), 0)
  FROM vibecraft.users u;
DROP VIEW vibecraft.user_profiles;
DROP VIEW vibecraft.admin_dashboard;

-- A setting new in 0.2.0 (a fresh install has it among the reference rows).
INSERT INTO vibecraft.system_settings (id, key, value, description, category, is_public, is_system)
VALUES (md5('vibecraft.system_settings:maintenance.archive_after_days')::uuid, 'maintenance.archive_after_days', '90',
        'daily_maintenance moves admin and audit log rows older than this many days to the archive tables',
        'maintenance', false, true)
ON CONFLICT (key) DO NOTHING;

-- Objects whose shape changed in ways CREATE OR REPLACE cannot make: the rules below
-- create them again. The user dashboard gained credits_spent in the middle of its
-- columns; get_user_stats returns a different row. users.credits goes once nothing
-- reads it.
DROP VIEW vibecraft.user_dashboard;
DROP FUNCTION vibecraft.get_user_stats(uuid);
ALTER TABLE vibecraft.users DROP COLUMN credits;
-- user_sessions no longer shows the session token.
DROP VIEW vibecraft.user_sessions;

-- @rules

-- The statistics totals, filled from the history already there.
SELECT vibecraft.rebuild_stat_totals();
RESET session_replication_role;

-- The analytics materialized views are populated at install since 0.2.0; an older
-- database's are filled now, so that they can be read before the first maintenance run.
DO $populate$
DECLARE
    m regclass;
BEGIN
    FOR m IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'm' AND NOT c.relispopulated LOOP
        EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW %s', m);
    END LOOP;
END
$populate$;
