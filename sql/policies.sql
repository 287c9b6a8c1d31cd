-- Row-level security on every vibecraft table, enabled and forced.
--
-- Shorthands used below (each helper runs once per statement as an InitPlan):
--   own(col)   col BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
--              the caller's own rows; every row for admins and the service role
--   project(r) project_id = ANY ((SELECT vibecraft.project_ids_with_role(r))::uuid[])
--   org(r)     organization_id = ANY ((SELECT vibecraft.org_ids_with_role(r))::uuid[])
--   staff      (SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin())
-- Members of vibecraft_service also get a `service_all` policy on every table.
-- Soft-deleted rows (deleted_at set) are hidden from everyone but staff by a
-- RESTRICTIVE policy. Superusers and the table owner bypass all of this, as always.

DO $rls$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format('CREATE POLICY service_all ON %s TO vibecraft_service USING (true) WITH CHECK (true)', t);
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = t AND a.attname = 'deleted_at' AND NOT a.attisdropped) THEN
            EXECUTE pg_catalog.format(
                'CREATE POLICY hide_soft_deleted ON %s AS RESTRICTIVE FOR SELECT USING '
                '(deleted_at IS NULL OR (SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()))', t);
        END IF;
    END LOOP;
END
$rls$;

-- Tenancy and people -------------------------------------------------------------------
CREATE POLICY member_read ON vibecraft.organizations FOR SELECT
    USING (id = ANY ((SELECT vibecraft.org_ids_with_role('MEMBER'))::uuid[]));
CREATE POLICY org_admin_update ON vibecraft.organizations FOR UPDATE
    USING (id = ANY ((SELECT vibecraft.org_ids_with_role('ADMIN'))::uuid[]));
CREATE POLICY staff_write ON vibecraft.organizations FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

-- Users see themselves and the roster of their organization; they edit only
-- themselves (and only safe columns: see the column grants); org ADMINs edit members.
CREATE POLICY self_or_roster_read ON vibecraft.users FOR SELECT
    USING (id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MEMBER'))::uuid[]));
-- Signing up creates one's own row with nothing granted: no platform or organization
-- role, no organization, no credits, no verified address, the free plan. Those are given by staff (the
-- service role and admins pass through service_all / their own scope).
CREATE POLICY self_insert ON vibecraft.users FOR INSERT
    WITH CHECK (id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
                AND ((SELECT vibecraft.is_admin())
                     OR (system_role = 'user' AND role = 'MEMBER' AND organization_id IS NULL
                         AND credits = 0 AND credits_spent = 0 AND email_verified IS NULL
                         AND subscription_plan = 'free' AND subscription_status = 'active')));
CREATE POLICY self_or_org_admin_update ON vibecraft.users FOR UPDATE
    USING (id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR organization_id = ANY ((SELECT vibecraft.org_ids_with_role('ADMIN'))::uuid[]));
CREATE POLICY staff_delete ON vibecraft.users FOR DELETE
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

CREATE POLICY own_rows ON vibecraft.user_preferences FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_rows ON vibecraft.accounts FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_rows ON vibecraft.sessions FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY staff_only ON vibecraft.verification_tokens FOR ALL
    USING ((SELECT vibecraft.is_service()));

-- Projects: owners and members by role; public projects readable by all -------------------
CREATE POLICY visible ON vibecraft.projects FOR SELECT
    USING (is_public
           OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR id = ANY ((SELECT vibecraft.project_ids_with_role('viewer'))::uuid[]));
CREATE POLICY owner_insert ON vibecraft.projects FOR INSERT
    WITH CHECK (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY editor_update ON vibecraft.projects FOR UPDATE
    USING (id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));
CREATE POLICY owner_delete ON vibecraft.projects FOR DELETE
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

CREATE POLICY member_read ON vibecraft.project_members FOR SELECT
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('viewer'))::uuid[]));
CREATE POLICY admin_insert ON vibecraft.project_members FOR INSERT
    WITH CHECK (project_id = ANY ((SELECT vibecraft.project_ids_with_role('admin'))::uuid[]));
CREATE POLICY admin_update ON vibecraft.project_members FOR UPDATE
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('admin'))::uuid[]));
CREATE POLICY admin_remove_or_leave ON vibecraft.project_members FOR DELETE
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('admin'))::uuid[])
           OR user_id = (SELECT vibecraft.current_user_id()));

-- Project content: viewers read, editors write.
DO $project_content$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['project_knowledge', 'project_settings', 'project_components', 'project_assets'] LOOP
        EXECUTE pg_catalog.format(
            'CREATE POLICY viewer_read ON vibecraft.%I FOR SELECT '
            'USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role(''viewer''))::uuid[]))', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY editor_insert ON vibecraft.%I FOR INSERT '
            'WITH CHECK (project_id = ANY ((SELECT vibecraft.project_ids_with_role(''editor''))::uuid[]))', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY editor_update ON vibecraft.%I FOR UPDATE '
            'USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role(''editor''))::uuid[]))', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY editor_delete ON vibecraft.%I FOR DELETE '
            'USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role(''editor''))::uuid[]))', t);
    END LOOP;
END
$project_content$;

-- Prompts: one's own, plus those of projects one can view.
CREATE POLICY own_or_project_read ON vibecraft.prompt_history FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR project_id = ANY ((SELECT vibecraft.project_ids_with_role('viewer'))::uuid[]));
CREATE POLICY own_insert ON vibecraft.prompt_history FOR INSERT
    WITH CHECK (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
                AND (project_id IS NULL OR project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[])));
CREATE POLICY own_update ON vibecraft.prompt_history FOR UPDATE
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_delete ON vibecraft.prompt_history FOR DELETE
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

-- ValueCanvas: organization members read, MANAGERs and up write -------------------------
DO $org_content$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['agents', 'models', 'executions'] LOOP
        EXECUTE pg_catalog.format(
            'CREATE POLICY member_read ON vibecraft.%I FOR SELECT '
            'USING (organization_id = ANY ((SELECT vibecraft.org_ids_with_role(''MEMBER''))::uuid[]))', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY manager_write ON vibecraft.%I FOR ALL '
            'USING (organization_id = ANY ((SELECT vibecraft.org_ids_with_role(''MANAGER''))::uuid[]))', t);
    END LOOP;
END
$org_content$;
-- Any member may run an agent.
CREATE POLICY member_run ON vibecraft.executions FOR INSERT
    WITH CHECK (organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MEMBER'))::uuid[])
                AND user_id = (SELECT vibecraft.current_user_id()));

-- Canvases: the owner, org members when shared, MANAGERs always.
CREATE POLICY visible ON vibecraft.canvases FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR (is_shared AND organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MEMBER'))::uuid[]))
           OR organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MANAGER'))::uuid[]));
CREATE POLICY owner_insert ON vibecraft.canvases FOR INSERT
    WITH CHECK (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
                AND organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MEMBER'))::uuid[]));
CREATE POLICY owner_or_manager_write ON vibecraft.canvases FOR UPDATE
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MANAGER'))::uuid[]));
CREATE POLICY owner_or_manager_delete ON vibecraft.canvases FOR DELETE
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MANAGER'))::uuid[]));

-- Reference data: readable by everyone including anon, written by staff ---------------
DO $reference$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ai_providers', 'prompt_frameworks', 'feedback_categories', 'storage_buckets'] LOOP
        EXECUTE pg_catalog.format('CREATE POLICY everyone_read ON vibecraft.%I FOR SELECT USING (true)', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY staff_write ON vibecraft.%I FOR ALL '
            'USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()))', t);
    END LOOP;
END
$reference$;
CREATE POLICY public_or_staff_read ON vibecraft.system_settings FOR SELECT
    USING (is_public OR (SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
CREATE POLICY staff_write ON vibecraft.system_settings FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

-- AI and usage ----------------------------------------------------------------------------
CREATE POLICY own_rows ON vibecraft.api_configurations FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY public_or_own_read ON vibecraft.prompt_templates FOR SELECT
    USING ((is_public AND is_active)
           OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_write ON vibecraft.prompt_templates FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_read ON vibecraft.api_usage_logs FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_insert ON vibecraft.api_usage_logs FOR INSERT
    WITH CHECK (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

-- Statistics totals: users read their own; the triggers in stats.sql keep them.
CREATE POLICY own_read ON vibecraft.user_stat_totals FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_read ON vibecraft.user_provider_totals FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

-- Log archives: admins read them; maintenance (the service role) writes them.
CREATE POLICY admin_read ON vibecraft.admin_logs_archive FOR SELECT USING ((SELECT vibecraft.is_admin()));
CREATE POLICY admin_read ON vibecraft.audit_logs_archive FOR SELECT USING ((SELECT vibecraft.is_admin()));

-- Commerce: users read their own; money moves only through vibecraft's functions ---------
CREATE POLICY own_read ON vibecraft.credit_ledger FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_read ON vibecraft.orders FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_pending_insert ON vibecraft.orders FOR INSERT
    WITH CHECK (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
                AND status = 'pending');
CREATE POLICY staff_update ON vibecraft.orders FOR UPDATE
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
CREATE POLICY own_read ON vibecraft.payments FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY staff_write ON vibecraft.payments FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
CREATE POLICY own_rows ON vibecraft.downloads FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_insert ON vibecraft.downloads FOR INSERT
    WITH CHECK (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_update ON vibecraft.downloads FOR UPDATE
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_rows ON vibecraft.api_keys FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

-- Feedback, searches, logs ---------------------------------------------------------------
CREATE POLICY own_or_staff_read ON vibecraft.feedback FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR (SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
-- Anyone, anon included, may send feedback; signed-in users only as themselves.
CREATE POLICY anyone_submits ON vibecraft.feedback FOR INSERT
    WITH CHECK (user_id IS NULL
                OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY staff_responds ON vibecraft.feedback FOR UPDATE
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
CREATE POLICY staff_delete ON vibecraft.feedback FOR DELETE
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
CREATE POLICY with_feedback ON vibecraft.feedback_tags FOR SELECT
    USING (feedback_id IN (SELECT f.id FROM vibecraft.feedback f));
CREATE POLICY staff_write ON vibecraft.feedback_tags FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
CREATE POLICY staff_only ON vibecraft.feedback_analytics FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

CREATE POLICY public_or_own_read ON vibecraft.saved_searches FOR SELECT
    USING (is_public
           OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_write ON vibecraft.saved_searches FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

CREATE POLICY staff_only ON vibecraft.admin_logs FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
-- The audit trail: staff everything, organization ADMINs their organization, users
-- their own actions. Only the service role writes application events; the audit
-- trigger writes as the table owner.
CREATE POLICY readers ON vibecraft.audit_logs FOR SELECT
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin())
           OR organization_id = ANY ((SELECT vibecraft.org_ids_with_role('ADMIN'))::uuid[])
           OR user_id = (SELECT vibecraft.current_user_id()));

CREATE POLICY own_or_staff_read ON vibecraft.error_logs FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR (SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
CREATE POLICY anyone_reports ON vibecraft.error_logs FOR INSERT
    WITH CHECK (user_id IS NULL
                OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY staff_read ON vibecraft.performance_metrics FOR SELECT
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));
CREATE POLICY anyone_reports ON vibecraft.performance_metrics FOR INSERT
    WITH CHECK (user_id IS NULL
                OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_rows ON vibecraft.user_activity FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
CREATE POLICY own_insert ON vibecraft.user_activity FOR INSERT
    WITH CHECK (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));
