-- People and tenancy: organizations, users (behind users / user_profiles), preferences, saved searches.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Seed names for canonical tables. Each product keeps its own table names; where two
-- products name one concept differently, the canonical table has the other name as an
-- auto-updatable view. security_invoker = true: the caller's privileges and the
-- table's row-level security apply through the view.

-- PromptCraft's and Creo's user_profiles: user_id is the user's id.
CREATE OR REPLACE VIEW vibecraft.user_profiles WITH (security_invoker = true) AS
SELECT id, id AS user_id, organization_id, email, full_name, display_name, avatar_url, bio,
       preferences, is_active, last_login_at, credits, subscription_plan, subscription_status,
       metadata, role, status, created_at, updated_at, deleted_at
  FROM vibecraft.users;


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

CREATE POLICY public_or_own_read ON vibecraft.saved_searches FOR SELECT
    USING (is_public
           OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

CREATE POLICY own_write ON vibecraft.saved_searches FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

-- What each table and view is for, so that `\d+` in psql explains the schema.
-- (Functions carry their comments next to their definitions.)
COMMENT ON TABLE vibecraft.organizations IS 'Tenants (ValueCanvas): tier, feature flags, limits; soft-deleted with deleted_at.';

COMMENT ON TABLE vibecraft.users IS 'People: profile, organization role, platform role, status, credit balance (credits, with credits_spent), subscription; soft-deleted with deleted_at.';

COMMENT ON TABLE vibecraft.user_preferences IS 'One row per user: model, framework, theme, history retention (max_history_days, auto_cleanup), notifications.';

COMMENT ON TABLE vibecraft.saved_searches IS 'Searches a user saved, optionally public.';

COMMENT ON VIEW vibecraft.user_profiles IS 'Seed name of users (Visual Prompt Builder); auto-updatable, RLS applies.';

-- Privileges.
GRANT SELECT ON vibecraft.saved_searches TO vibecraft_anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.organizations TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.user_preferences TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.saved_searches TO vibecraft_authenticated;
GRANT SELECT, INSERT, DELETE ON vibecraft.users TO vibecraft_authenticated;
GRANT SELECT, INSERT, DELETE ON vibecraft.user_profiles TO vibecraft_authenticated;
GRANT UPDATE (email, name, full_name, display_name, image, avatar_url, bio, preferences, metadata, last_login_at, last_activity_at, deleted_at) ON vibecraft.users TO vibecraft_authenticated;
GRANT UPDATE (email, full_name, display_name, avatar_url, bio, preferences, metadata, last_login_at, deleted_at) ON vibecraft.user_profiles TO vibecraft_authenticated;
