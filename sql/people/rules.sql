-- People and tenancy: organizations, users (behind users / user_profiles), preferences, saved searches.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Seed names: where two products name one concept differently, the canonical table has
-- the other name as an auto-updatable view (in the room of its table, as here).
-- security_invoker = true: the caller's privileges and the table's row-level security
-- apply through the view.

-- A user's balance as the caller may see it: NULL where credit_balances' policy hides it
-- (another user's). A function of its own, not a subquery of the view below: on Citus a
-- subquery of a distributed table correlated with a reference table cannot be planned,
-- a call per row (a one-shard query each) can.
CREATE OR REPLACE FUNCTION vibecraft.visible_credits(user_uuid uuid)
RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT b.credits FROM vibecraft.credit_balances b WHERE b.user_id = user_uuid);
END
$$;

-- PromptCraft's and Creo's user_profiles: user_id is the user's id. The balance comes
-- from credit_balances (read-only here; the view stays auto-updatable for the rest),
-- NULL where its policy hides it (another user's).
CREATE OR REPLACE VIEW vibecraft.user_profiles WITH (security_invoker = true) AS
SELECT u.id, u.id AS user_id, u.organization_id, u.email, u.full_name, u.display_name, u.avatar_url, u.bio,
       u.preferences, u.is_active, u.last_login_at,
       vibecraft.visible_credits(u.id) AS credits,
       u.subscription_plan, u.subscription_status,
       u.metadata, u.role, u.status, u.created_at, u.updated_at, u.deleted_at
  FROM vibecraft.users u;

-- Organizations: members read; an organization ADMIN renames it and edits its settings;
-- its tier, limits and feature flags are billing, the service role's (column grants).
CREATE POLICY member_read ON vibecraft.organizations FOR SELECT
    USING (id = ANY (vibecraft.org_ids_with_role('MEMBER')));
CREATE POLICY org_admin_update ON vibecraft.organizations FOR UPDATE
    USING (id = ANY (vibecraft.org_ids_with_role('ADMIN')))
    WITH CHECK (id = ANY (vibecraft.org_ids_with_role('ADMIN')));
CREATE POLICY staff_insert ON vibecraft.organizations FOR INSERT
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_delete ON vibecraft.organizations FOR DELETE
    USING (vibecraft.is_service() OR vibecraft.is_admin());

-- Only staff deletes an organization, softly too.
CREATE OR REPLACE FUNCTION vibecraft.guard_organization_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.deleted_at IS DISTINCT FROM OLD.deleted_at
       AND NOT vibecraft.writes_as_service() AND NOT vibecraft.is_admin() THEN
        PERFORM vibecraft.refuse_write('organizations', 'only staff deletes an organization');
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER guard_organization_update BEFORE UPDATE ON vibecraft.organizations
    FOR EACH ROW EXECUTE FUNCTION vibecraft.guard_organization_update();

-- Users see themselves and the roster of their organization. Signing up creates one's
-- own row with nothing granted (the column grants leave roles, organization,
-- plan and verification to their defaults) and with the address the token vouches for,
-- so no one can take an address before its owner signs up. A user edits its own
-- profile; an organization ADMIN changes the role and status of its members
-- (guard_user_update); the address changes only through the auth backend (the service
-- role), and a changed address loses its verification.
CREATE POLICY self_or_roster_read ON vibecraft.users FOR SELECT
    USING (id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')));
CREATE POLICY self_insert ON vibecraft.users FOR INSERT
    WITH CHECK (id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
                AND (vibecraft.is_admin()
                     OR (system_role = 'user' AND role = 'MEMBER' AND organization_id IS NULL
                         AND email_verified IS NULL
                         AND subscription_plan = 'free' AND subscription_status = 'active'
                         AND (email IS NULL
                              OR lower(email) = lower(vibecraft.jwt_claims() ->> 'email')))));
CREATE POLICY self_or_org_admin_update ON vibecraft.users FOR UPDATE
    USING (id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR organization_id = ANY (vibecraft.org_ids_with_role('ADMIN')))
    WITH CHECK (id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
                OR organization_id = ANY (vibecraft.org_ids_with_role('ADMIN')));
CREATE POLICY staff_delete ON vibecraft.users FOR DELETE
    USING (vibecraft.is_service() OR vibecraft.is_admin());

CREATE OR REPLACE FUNCTION vibecraft.guard_user_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A verification vouches for one address: a new address starts unverified, unless
    -- the same statement (the auth backend's) verifies it too.
    -- Everything refers to a user by its id (an upsert names it, unchanged: supabase-js).
    IF NEW.id IS DISTINCT FROM OLD.id THEN
        PERFORM vibecraft.refuse_write('users', 'a user''s id never changes');
    END IF;
    IF NEW.email IS DISTINCT FROM OLD.email AND NEW.email_verified IS NOT DISTINCT FROM OLD.email_verified THEN
        NEW.email_verified := NULL;
    END IF;
    IF vibecraft.writes_as_service() OR vibecraft.is_admin() THEN
        RETURN NEW;
    END IF;
    IF OLD.id = vibecraft.current_user_id() THEN
        IF NEW.role IS DISTINCT FROM OLD.role OR NEW.status IS DISTINCT FROM OLD.status THEN
            PERFORM vibecraft.refuse_write('users', 'a user cannot change its own organization role or status');
        END IF;
        RETURN NEW;
    END IF;
    -- Otherwise the policy let an organization ADMIN through, for a member.
    IF OLD.system_role = 'admin' THEN
        PERFORM vibecraft.refuse_write('users', 'platform admins are managed by the service role');
    END IF;
    IF (NEW.name, NEW.full_name, NEW.display_name, NEW.image, NEW.avatar_url, NEW.bio, NEW.preferences,
        NEW.metadata, NEW.last_login_at, NEW.last_activity_at, NEW.deleted_at)
       IS DISTINCT FROM
       (OLD.name, OLD.full_name, OLD.display_name, OLD.image, OLD.avatar_url, OLD.bio, OLD.preferences,
        OLD.metadata, OLD.last_login_at, OLD.last_activity_at, OLD.deleted_at) THEN
        PERFORM vibecraft.refuse_write('users', 'an organization ADMIN changes only the role and status of its members');
    END IF;
    RETURN NEW;
END
$$;
-- Only for writes that name these columns.
CREATE OR REPLACE TRIGGER guard_user_update
    BEFORE UPDATE OF id, email, role, status, name, full_name, display_name, image, avatar_url, bio,
                     preferences, metadata, last_login_at, last_activity_at, deleted_at
    ON vibecraft.users
    FOR EACH ROW EXECUTE FUNCTION vibecraft.guard_user_update();

CREATE POLICY own_read ON vibecraft.user_preferences FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_insert ON vibecraft.user_preferences FOR INSERT
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_update ON vibecraft.user_preferences FOR UPDATE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high())
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_delete ON vibecraft.user_preferences FOR DELETE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

CREATE POLICY public_or_own_read ON vibecraft.saved_searches FOR SELECT
    USING (is_public
           OR user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_insert ON vibecraft.saved_searches FOR INSERT
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_update ON vibecraft.saved_searches FOR UPDATE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high())
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_delete ON vibecraft.saved_searches FOR DELETE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

-- What each table and view is for, so that `\d+` in psql explains the schema.
-- (Functions carry their comments next to their definitions.)
COMMENT ON FUNCTION vibecraft.guard_organization_update() IS 'Trigger: only staff deletes an organization (softly too).';
COMMENT ON FUNCTION vibecraft.guard_user_update() IS 'Trigger: a changed address loses its verification; users edit their profile but not their role or status; organization ADMINs change only their members'' role and status, never a platform admin''s.';
COMMENT ON TABLE vibecraft.organizations IS 'Tenants (ValueCanvas): tier, feature flags, limits; soft-deleted with deleted_at.';
COMMENT ON FUNCTION vibecraft.visible_credits(uuid) IS 'A user''s credit balance as the caller may see it (NULL where the balance''s policy hides it); user_profiles.credits.';
COMMENT ON TABLE vibecraft.users IS 'People: profile, organization role, platform role, status, subscription (the credit balance: credit_balances); soft-deleted with deleted_at.';
COMMENT ON TABLE vibecraft.user_preferences IS 'One row per user: model, framework, theme, history retention (max_history_days, auto_cleanup), notifications.';
COMMENT ON TABLE vibecraft.saved_searches IS 'Searches a user saved, optionally public.';
COMMENT ON VIEW vibecraft.user_profiles IS 'Seed name of users (Visual Prompt Builder); auto-updatable, RLS applies.';

-- Privileges: what a signed-in user may write directly, column by column
-- (docs/authorization.md has the whole matrix).
GRANT SELECT ON vibecraft.saved_searches TO vibecraft_anon;
GRANT SELECT, DELETE ON vibecraft.organizations TO vibecraft_authenticated;
GRANT INSERT (name, slug, settings), UPDATE (name, slug, settings, deleted_at) ON vibecraft.organizations TO vibecraft_authenticated;
GRANT SELECT, DELETE ON vibecraft.users, vibecraft.user_profiles TO vibecraft_authenticated;
GRANT EXECUTE ON FUNCTION vibecraft.visible_credits(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT INSERT (id, email, name, full_name, display_name, image, avatar_url, bio, preferences, metadata)
  ON vibecraft.users TO vibecraft_authenticated;
-- (id: an upsert, as supabase-js sends it, sets the id to itself; guard_user_update
-- refuses any other value.)
GRANT UPDATE (id, name, full_name, display_name, image, avatar_url, bio, preferences, metadata,
              last_login_at, last_activity_at, deleted_at, role, status)
  ON vibecraft.users TO vibecraft_authenticated;
GRANT INSERT (id, user_id, email, full_name, display_name, avatar_url, bio, preferences, metadata)
  ON vibecraft.user_profiles TO vibecraft_authenticated;
GRANT UPDATE (id, user_id, full_name, display_name, avatar_url, bio, preferences, metadata, last_login_at, deleted_at, role, status)
  ON vibecraft.user_profiles TO vibecraft_authenticated;
GRANT SELECT, INSERT, DELETE ON vibecraft.user_preferences, vibecraft.saved_searches TO vibecraft_authenticated;
GRANT UPDATE (selected_model, selected_framework, theme, language, timezone, enable_notifications, enable_analytics,
              enable_history, enable_feedback, max_history_days, auto_cleanup, notification_preferences, accessibility)
  ON vibecraft.user_preferences TO vibecraft_authenticated;
GRANT UPDATE (name, search_query, filters, is_public) ON vibecraft.saved_searches TO vibecraft_authenticated;
