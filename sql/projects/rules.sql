-- Projects and their members (collaborators), settings, components, knowledge, and prompt history (project_prompts, prompt_generations).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Visual Prompt Builder's collaborators.
CREATE OR REPLACE VIEW vibecraft.collaborators WITH (security_invoker = true) AS
SELECT id, project_id, user_id, role, invited_by, created_at, updated_at
  FROM vibecraft.project_members;

-- VibeCraft Studio's project_prompts and Visual Prompt Builder's prompt_generations:
-- the prompts that belong to a project.
CREATE OR REPLACE VIEW vibecraft.project_prompts WITH (security_invoker = true) AS
SELECT id, project_id, user_id, framework_id, framework_name, model, provider, user_input,
       ai_response, temperature, max_tokens, processing_time_ms, tokens_used, cost_usd, status,
       error_message, metadata, created_at, updated_at
  FROM vibecraft.prompt_history
 WHERE project_id IS NOT NULL
  WITH CASCADED CHECK OPTION;

-- (one concept, two seed names: the second is a view of the first)
CREATE OR REPLACE VIEW vibecraft.prompt_generations WITH (security_invoker = true) AS
SELECT * FROM vibecraft.project_prompts
  WITH CASCADED CHECK OPTION;

-- Projects: public ones readable by all, the others by their owner and members. Created
-- by their owner, in an organization the owner belongs to; editors edit the content;
-- making a project public or private needs its admin or owner, deleting it (softly too)
-- its owner (guard_project_update). A project never changes owner or organization by a
-- plain UPDATE (column grants).
CREATE POLICY visible ON vibecraft.projects FOR SELECT
    USING (is_public
           OR user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR id = ANY (vibecraft.project_ids_with_role('viewer')));
CREATE POLICY owner_insert ON vibecraft.projects FOR INSERT
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
                AND (organization_id IS NULL
                     OR organization_id = ANY (vibecraft.org_ids_with_role('MEMBER'))));
CREATE POLICY editor_update ON vibecraft.projects FOR UPDATE
    USING (id = ANY (vibecraft.project_ids_with_role('editor')))
    WITH CHECK (id = ANY (vibecraft.project_ids_with_role('editor')));
CREATE POLICY owner_delete ON vibecraft.projects FOR DELETE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

CREATE OR REPLACE FUNCTION vibecraft.guard_project_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF vibecraft.writes_as_service() OR vibecraft.is_admin() THEN
        RETURN NEW;
    END IF;
    IF NEW.is_public IS DISTINCT FROM OLD.is_public AND NOT vibecraft.has_project_role(OLD.id, 'admin') THEN
        PERFORM vibecraft.refuse_write('projects', 'only a project''s admin or owner makes it public or private');
    END IF;
    IF NEW.deleted_at IS DISTINCT FROM OLD.deleted_at AND OLD.user_id IS DISTINCT FROM vibecraft.current_user_id() THEN
        PERFORM vibecraft.refuse_write('projects', 'only a project''s owner deletes it');
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER guard_project_update BEFORE UPDATE ON vibecraft.projects
    FOR EACH ROW EXECUTE FUNCTION vibecraft.guard_project_update();

-- Members: the project's viewers see who is on it. A member is added only when the
-- person accepts an invitation (accept_project_invitation) or by the service role; a
-- project admin changes roles and removes members, anyone may leave; the owner's
-- membership stays as long as the project does (guard_project_member).
CREATE POLICY member_read ON vibecraft.project_members FOR SELECT
    USING (project_id = ANY (vibecraft.project_ids_with_role('viewer')));
CREATE POLICY admin_update ON vibecraft.project_members FOR UPDATE
    USING (project_id = ANY (vibecraft.project_ids_with_role('admin')))
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('admin')));
CREATE POLICY admin_remove_or_leave ON vibecraft.project_members FOR DELETE
    USING (project_id = ANY (vibecraft.project_ids_with_role('admin'))
           OR user_id = vibecraft.current_user_id());

CREATE OR REPLACE FUNCTION vibecraft.guard_project_member()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- vibecraft's own code (the owner trigger, accepting an invitation, a cascade from a
    -- deleted project or user) and the service role.
    IF vibecraft.writes_as_service() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM vibecraft.refuse_write('project_members', 'members join by accepting an invitation (vibecraft.accept_project_invitation)');
    END IF;
    IF OLD.role = 'owner' THEN
        PERFORM vibecraft.refuse_write('project_members', 'a project''s owner cannot be removed or demoted');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.role = 'owner' THEN
            PERFORM vibecraft.refuse_write('project_members', 'the owner role comes only with the project');
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER guard_project_member BEFORE INSERT OR UPDATE OR DELETE ON vibecraft.project_members
    FOR EACH ROW EXECUTE FUNCTION vibecraft.guard_project_member();

-- Invitations: a project's admin invites someone with a role; the invitee sees it and
-- accepts it (or declines: deletes it); the admin may withdraw it.
CREATE POLICY invitee_or_admin_read ON vibecraft.project_invitations FOR SELECT
    USING (user_id = vibecraft.current_user_id() OR project_id = ANY (vibecraft.project_ids_with_role('admin')));
CREATE POLICY admin_invites ON vibecraft.project_invitations FOR INSERT
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('admin'))
                AND invited_by = vibecraft.current_user_id() AND user_id <> invited_by);
CREATE POLICY invitee_or_admin_delete ON vibecraft.project_invitations FOR DELETE
    USING (user_id = vibecraft.current_user_id() OR project_id = ANY (vibecraft.project_ids_with_role('admin')));

CREATE OR REPLACE FUNCTION vibecraft.accept_project_invitation(project uuid)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid uuid := vibecraft.current_user_id();
    invitation record;
BEGIN
    DELETE FROM vibecraft.project_invitations i
     WHERE i.project_id = project AND i.user_id = uid AND i.expires_at > pg_catalog.now()
    RETURNING i.role, i.invited_by INTO invitation;
    -- An invitation counts while its inviter may still invite: the service role (no
    -- inviter), an active platform admin (as is_admin() says), or an admin or the owner of
    -- the live project now.
    IF invitation IS NULL OR NOT (
           invitation.invited_by IS NULL
        OR EXISTS (SELECT 1 FROM vibecraft.users u WHERE u.id = invitation.invited_by AND u.system_role = 'admin'
                      AND u.status = 'ACTIVE' AND u.deleted_at IS NULL)
        OR EXISTS (SELECT 1 FROM vibecraft.projects p WHERE p.id = project AND p.deleted_at IS NULL
                      AND (p.user_id = invitation.invited_by
                           OR EXISTS (SELECT 1 FROM vibecraft.project_members m
                                       WHERE m.project_id = p.id AND m.user_id = invitation.invited_by
                                         AND vibecraft.project_role_rank(m.role) >= vibecraft.project_role_rank('admin'))))) THEN
        RAISE EXCEPTION 'vibecraft.accept_project_invitation: you have no open invitation to that project'
            USING ERRCODE = '42501';
    END IF;
    INSERT INTO vibecraft.project_members AS m (project_id, user_id, role, invited_by)
    VALUES (project, uid, invitation.role, invitation.invited_by)
    ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role, invited_by = EXCLUDED.invited_by
     WHERE m.role OPERATOR(pg_catalog.<>) 'owner';
    RETURN invitation.role;
END
$$;

-- The creator of a project is its owner member. On a Citus node the trigger fires on
-- each node's copy of projects (a reference table), where it may not write the Citus
-- table project_members (a distributed query from a shard): it writes that node's own
-- copy of project_members instead, so every copy gets the same row in the same
-- transaction (docs/scale-out.md).
CREATE OR REPLACE FUNCTION vibecraft.add_project_owner()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shard text;
BEGIN
    IF vibecraft.restoring_dump() THEN
        RETURN NULL;  -- the dump holds the owner's membership row
    END IF;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'projects' THEN
        shard := vibecraft.citus_local_shard('vibecraft.project_members');
        IF shard IS NOT NULL THEN
            EXECUTE pg_catalog.format(
                'INSERT INTO vibecraft.%I AS m (project_id, user_id, role) VALUES ($1, $2, ''owner'')
                 ON CONFLICT (project_id, user_id) DO UPDATE SET role = ''owner''', shard)
              USING NEW.id, NEW.user_id;
        END IF;
        RETURN NULL;
    END IF;
    INSERT INTO vibecraft.project_members (project_id, user_id, role)
    VALUES (NEW.id, NEW.user_id, 'owner')
    ON CONFLICT (project_id, user_id) DO UPDATE SET role = 'owner';
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER add_project_owner AFTER INSERT ON vibecraft.projects
    FOR EACH ROW EXECUTE FUNCTION vibecraft.add_project_owner();

COMMENT ON FUNCTION vibecraft.add_project_owner() IS 'Trigger: the creator of a project becomes its owner member.';

-- Prompts: one's own, plus those of projects one can view; written into a project one
-- edits, never moved to another project or user afterwards.
CREATE POLICY own_or_project_read ON vibecraft.prompt_history FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR project_id = ANY (vibecraft.project_ids_with_role('viewer')));
CREATE POLICY own_insert ON vibecraft.prompt_history FOR INSERT
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
                AND (project_id IS NULL OR project_id = ANY (vibecraft.project_ids_with_role('editor'))));
CREATE POLICY own_update ON vibecraft.prompt_history FOR UPDATE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high())
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_delete ON vibecraft.prompt_history FOR DELETE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

-- Project content: viewers read, editors write (as themselves).
CREATE POLICY viewer_read ON vibecraft.project_knowledge FOR SELECT
    USING (project_id = ANY (vibecraft.project_ids_with_role('viewer')));
CREATE POLICY editor_insert ON vibecraft.project_knowledge FOR INSERT
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('editor'))
                AND user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY editor_update ON vibecraft.project_knowledge FOR UPDATE
    USING (project_id = ANY (vibecraft.project_ids_with_role('editor')))
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('editor')));
CREATE POLICY editor_delete ON vibecraft.project_knowledge FOR DELETE
    USING (project_id = ANY (vibecraft.project_ids_with_role('editor')));

-- Project content: viewers read, editors write (as themselves).
CREATE POLICY viewer_read ON vibecraft.project_settings FOR SELECT
    USING (project_id = ANY (vibecraft.project_ids_with_role('viewer')));
CREATE POLICY editor_insert ON vibecraft.project_settings FOR INSERT
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('editor')));
CREATE POLICY editor_update ON vibecraft.project_settings FOR UPDATE
    USING (project_id = ANY (vibecraft.project_ids_with_role('editor')))
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('editor')));
CREATE POLICY editor_delete ON vibecraft.project_settings FOR DELETE
    USING (project_id = ANY (vibecraft.project_ids_with_role('editor')));

-- Project content: viewers read, editors write (as themselves).
CREATE POLICY viewer_read ON vibecraft.project_components FOR SELECT
    USING (project_id = ANY (vibecraft.project_ids_with_role('viewer')));
CREATE POLICY editor_insert ON vibecraft.project_components FOR INSERT
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('editor'))
                AND (user_id IS NULL OR user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()));
CREATE POLICY editor_update ON vibecraft.project_components FOR UPDATE
    USING (project_id = ANY (vibecraft.project_ids_with_role('editor')))
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('editor')));
CREATE POLICY editor_delete ON vibecraft.project_components FOR DELETE
    USING (project_id = ANY (vibecraft.project_ids_with_role('editor')));

COMMENT ON TABLE vibecraft.projects IS 'Projects owned by a user (and optionally an organization); public ones are readable by anyone.';
COMMENT ON TABLE vibecraft.project_members IS 'Who else works on a project, with a role: owner > admin > editor > viewer. Also reachable as collaborators.';
COMMENT ON TABLE vibecraft.prompt_history IS 'Every prompt a user ran, with its framework, model, tokens and cost. Also reachable as project_prompts and prompt_generations.';
COMMENT ON TABLE vibecraft.project_knowledge IS 'A project''s knowledge base entries, full-text searchable.';
COMMENT ON TABLE vibecraft.project_settings IS 'Per-project key/value settings.';
COMMENT ON TABLE vibecraft.project_components IS 'Components (VibeCraft Studio) that make up a project.';
COMMENT ON VIEW vibecraft.collaborators IS 'Seed name of project_members; auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.project_prompts IS 'Seed name of prompt_history (VibeCraft Studio); auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.prompt_generations IS 'Seed name of prompt_history (Visual Prompt Builder); auto-updatable, RLS applies.';

COMMENT ON TABLE vibecraft.project_invitations IS 'Open invitations to join a project with a role; the invitee accepts with vibecraft.accept_project_invitation, or declines by deleting the row.';
COMMENT ON FUNCTION vibecraft.accept_project_invitation(uuid) IS 'Join a project one was invited to, with the invited role; returns the role. 42501 when there is no open invitation.';
COMMENT ON FUNCTION vibecraft.guard_project_update() IS 'Trigger: public/private needs the project''s admin, deleting it its owner.';
COMMENT ON FUNCTION vibecraft.guard_project_member() IS 'Trigger: members join through invitations; the owner''s membership cannot be removed or demoted; no one becomes owner by an UPDATE.';

-- Privileges: what a signed-in user may write directly, column by column
-- (docs/authorization.md has the whole matrix).
GRANT SELECT ON vibecraft.projects TO vibecraft_anon;
GRANT SELECT, DELETE ON vibecraft.projects TO vibecraft_authenticated;
GRANT INSERT (id, user_id, organization_id, name, description, status, is_public, settings, metadata),
      UPDATE (name, description, status, is_public, settings, metadata, deleted_at)
  ON vibecraft.projects TO vibecraft_authenticated;
GRANT SELECT, DELETE, UPDATE (role) ON vibecraft.project_members, vibecraft.collaborators TO vibecraft_authenticated;
GRANT SELECT, DELETE, INSERT (project_id, user_id, role) ON vibecraft.project_invitations TO vibecraft_authenticated;
GRANT EXECUTE ON FUNCTION vibecraft.accept_project_invitation(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT SELECT, DELETE,
      INSERT (id, user_id, project_id, framework_id, framework_name, model, provider, user_input, ai_response, tone,
              length, temperature, max_tokens, vibe_coding, processing_time_ms, tokens_used, cost_usd, status,
              error_message, error_code, metadata),
      UPDATE (framework_id, framework_name, model, provider, user_input, ai_response, tone, length, temperature,
              max_tokens, vibe_coding, processing_time_ms, tokens_used, cost_usd, status, error_message, error_code, metadata)
  ON vibecraft.prompt_history TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, project_id, user_id, framework_id, framework_name, model, provider, user_input, ai_response,
              temperature, max_tokens, processing_time_ms, tokens_used, cost_usd, status, error_message, metadata),
      UPDATE (framework_id, framework_name, model, provider, user_input, ai_response, temperature, max_tokens,
              processing_time_ms, tokens_used, cost_usd, status, error_message, metadata)
  ON vibecraft.project_prompts, vibecraft.prompt_generations TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, project_id, user_id, title, content, content_type, source_url, tags, metadata),
      UPDATE (title, content, content_type, source_url, tags, metadata)
  ON vibecraft.project_knowledge TO vibecraft_authenticated;
GRANT SELECT, DELETE, INSERT (id, project_id, key, value), UPDATE (key, value)
  ON vibecraft.project_settings TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, project_id, user_id, component_type, name, position, config, sort_order),
      UPDATE (component_type, name, position, config, sort_order)
  ON vibecraft.project_components TO vibecraft_authenticated;
