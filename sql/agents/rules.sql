-- ValueCanvas: AI agents, their executions, canvas models and canvases.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Agents and canvas models: organization members read, MANAGERs and up write, as
-- themselves (created_by); nothing moves to another organization (column grants).
CREATE POLICY member_read ON vibecraft.agents FOR SELECT
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')));
CREATE POLICY manager_insert ON vibecraft.agents FOR INSERT
    WITH CHECK (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER'))
                AND (created_by IS NULL OR created_by = vibecraft.current_user_id()));
CREATE POLICY manager_update ON vibecraft.agents FOR UPDATE
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')))
    WITH CHECK (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));
CREATE POLICY manager_delete ON vibecraft.agents FOR DELETE
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));

CREATE POLICY member_read ON vibecraft.models FOR SELECT
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')));
CREATE POLICY manager_insert ON vibecraft.models FOR INSERT
    WITH CHECK (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER'))
                AND (created_by IS NULL OR created_by = vibecraft.current_user_id()));
CREATE POLICY manager_update ON vibecraft.models FOR UPDATE
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')))
    WITH CHECK (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));
CREATE POLICY manager_delete ON vibecraft.models FOR DELETE
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));

-- Executions: members read them and run their organization's agents (the foreign key
-- on (agent_id, organization_id) keeps the agent in the same organization) as
-- themselves; MANAGERs update and delete them.
CREATE POLICY member_read ON vibecraft.executions FOR SELECT
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')));
CREATE POLICY member_run ON vibecraft.executions FOR INSERT
    WITH CHECK (organization_id = ANY (vibecraft.org_ids_with_role('MEMBER'))
                AND user_id = vibecraft.current_user_id()
                -- an agent the caller can see: a deleted one answers as a missing one
                AND EXISTS (SELECT 1 FROM vibecraft.agents a WHERE a.id = agent_id));
CREATE POLICY manager_update ON vibecraft.executions FOR UPDATE
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')))
    WITH CHECK (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));
CREATE POLICY manager_delete ON vibecraft.executions FOR DELETE
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));

-- Canvases: the owner, org members when shared, MANAGERs always; created by a member in
-- its own organization with one of that organization's models (foreign key).
CREATE POLICY visible ON vibecraft.canvases FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR (is_shared AND organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')))
           OR organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));
CREATE POLICY owner_insert ON vibecraft.canvases FOR INSERT
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
                AND organization_id = ANY (vibecraft.org_ids_with_role('MEMBER'))
                AND (model_id IS NULL OR EXISTS (SELECT 1 FROM vibecraft.models m WHERE m.id = model_id)));
CREATE POLICY owner_or_manager_write ON vibecraft.canvases FOR UPDATE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')))
    WITH CHECK ((user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
                 OR organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')))
                AND (model_id IS NULL OR EXISTS (SELECT 1 FROM vibecraft.models m WHERE m.id = model_id)));
CREATE POLICY owner_or_manager_delete ON vibecraft.canvases FOR DELETE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));

COMMENT ON TABLE vibecraft.agents IS 'AI agents of an organization (ValueCanvas) and their configuration.';
COMMENT ON TABLE vibecraft.executions IS 'Runs of an agent: input, output, status, timing.';
COMMENT ON TABLE vibecraft.models IS 'Value models of an organization (ValueCanvas).';
COMMENT ON TABLE vibecraft.canvases IS 'Canvases of an organization (ValueCanvas).';

-- Privileges: what a signed-in user may write directly, column by column
-- (docs/authorization.md has the whole matrix).
GRANT SELECT, DELETE,
      INSERT (id, organization_id, created_by, name, agent_type, description, config, version, is_active),
      UPDATE (name, agent_type, description, config, version, is_active, deleted_at)
  ON vibecraft.agents TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, organization_id, created_by, name, description, schema, version, is_published),
      UPDATE (name, description, schema, version, is_published, deleted_at)
  ON vibecraft.models TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, organization_id, agent_id, user_id, status, input),
      UPDATE (status, output, error_message, started_at, completed_at, duration_ms)
  ON vibecraft.executions TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, organization_id, model_id, user_id, name, data, is_shared, version),
      UPDATE (model_id, name, data, is_shared, version, deleted_at)
  ON vibecraft.canvases TO vibecraft_authenticated;
