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


-- The creator of a project is its owner member.
CREATE OR REPLACE FUNCTION vibecraft.add_project_owner()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO vibecraft.project_members (project_id, user_id, role)
    VALUES (NEW.id, NEW.user_id, 'owner')
    ON CONFLICT (project_id, user_id) DO UPDATE SET role = 'owner';
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER add_project_owner AFTER INSERT ON vibecraft.projects
    FOR EACH ROW EXECUTE FUNCTION vibecraft.add_project_owner();

COMMENT ON FUNCTION vibecraft.add_project_owner() IS 'Trigger: the creator of a project becomes its owner member.';


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


COMMENT ON TABLE vibecraft.projects IS 'Projects owned by a user (and optionally an organization); public ones are readable by anyone.';

COMMENT ON TABLE vibecraft.project_members IS 'Who else works on a project, with a role: owner > admin > editor > viewer. Also reachable as collaborators.';

COMMENT ON TABLE vibecraft.prompt_history IS 'Every prompt a user ran, with its framework, model, tokens and cost. Also reachable as project_prompts and prompt_generations.';

COMMENT ON TABLE vibecraft.project_knowledge IS 'A project''s knowledge base entries, full-text searchable.';

COMMENT ON TABLE vibecraft.project_settings IS 'Per-project key/value settings.';

COMMENT ON TABLE vibecraft.project_components IS 'Components (VibeCraft Studio) that make up a project.';

COMMENT ON VIEW vibecraft.collaborators IS 'Seed name of project_members; auto-updatable, RLS applies.';

COMMENT ON VIEW vibecraft.project_prompts IS 'Seed name of prompt_history (VibeCraft Studio); auto-updatable, RLS applies.';

COMMENT ON VIEW vibecraft.prompt_generations IS 'Seed name of prompt_history (Visual Prompt Builder); auto-updatable, RLS applies.';

-- Project content: viewers read, editors write.
CREATE POLICY viewer_read ON vibecraft.project_knowledge FOR SELECT
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('viewer'))::uuid[]));
CREATE POLICY editor_insert ON vibecraft.project_knowledge FOR INSERT
    WITH CHECK (project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));
CREATE POLICY editor_update ON vibecraft.project_knowledge FOR UPDATE
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));
CREATE POLICY editor_delete ON vibecraft.project_knowledge FOR DELETE
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));

-- Project content: viewers read, editors write.
CREATE POLICY viewer_read ON vibecraft.project_settings FOR SELECT
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('viewer'))::uuid[]));
CREATE POLICY editor_insert ON vibecraft.project_settings FOR INSERT
    WITH CHECK (project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));
CREATE POLICY editor_update ON vibecraft.project_settings FOR UPDATE
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));
CREATE POLICY editor_delete ON vibecraft.project_settings FOR DELETE
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));

-- Project content: viewers read, editors write.
CREATE POLICY viewer_read ON vibecraft.project_components FOR SELECT
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('viewer'))::uuid[]));
CREATE POLICY editor_insert ON vibecraft.project_components FOR INSERT
    WITH CHECK (project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));
CREATE POLICY editor_update ON vibecraft.project_components FOR UPDATE
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));
CREATE POLICY editor_delete ON vibecraft.project_components FOR DELETE
    USING (project_id = ANY ((SELECT vibecraft.project_ids_with_role('editor'))::uuid[]));

-- Privileges.
GRANT SELECT ON vibecraft.projects TO vibecraft_anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.projects TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.project_members TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.project_settings TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.project_components TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.project_knowledge TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.prompt_history TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.collaborators TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.project_prompts TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.prompt_generations TO vibecraft_authenticated;
