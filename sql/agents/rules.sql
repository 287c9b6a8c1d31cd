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

-- Executions: members read them and run their organization's agents as themselves;
-- MANAGERs update and delete them. The foreign key on (agent_id, organization_id) keeps
-- the agent in the execution's organization, and guard_visible_agent (below) refuses one
-- the caller cannot see, so the policy has no subquery on agents.
CREATE POLICY member_read ON vibecraft.executions FOR SELECT
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')));
CREATE POLICY member_run ON vibecraft.executions FOR INSERT
    WITH CHECK (organization_id = ANY (vibecraft.org_ids_with_role('MEMBER'))
                AND user_id = vibecraft.current_user_id());
CREATE POLICY manager_update ON vibecraft.executions FOR UPDATE
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')))
    WITH CHECK (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));
CREATE POLICY manager_delete ON vibecraft.executions FOR DELETE
    USING (organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));

-- Canvases: the owner and, when shared, the other members, while members; MANAGERs
-- always; created by a member in its own organization with one of that organization's
-- models, and written or deleted by its owner while a member, or by a MANAGER. The foreign key on (model_id, organization_id) keeps
-- the model in the canvas's organization, and guard_visible_model (below) refuses one the
-- caller cannot see, so the policies have no subquery on models.
CREATE POLICY visible ON vibecraft.canvases FOR SELECT
    USING (((user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high() OR is_shared)
            AND organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')))
           OR organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));
CREATE POLICY owner_insert ON vibecraft.canvases FOR INSERT
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
                AND organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')));
CREATE POLICY owner_or_manager_write ON vibecraft.canvases FOR UPDATE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')))
    WITH CHECK ((user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
                 AND organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')))
                OR organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));
CREATE POLICY owner_or_manager_delete ON vibecraft.canvases FOR DELETE
    USING ((user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
            AND organization_id = ANY (vibecraft.org_ids_with_role('MEMBER')))
           OR organization_id = ANY (vibecraft.org_ids_with_role('MANAGER')));

-- A new execution's agent and a canvas's model must be rows the writer can see: a
-- soft-deleted one (hidden by hide_soft_deleted) answers as a missing one, with the
-- foreign key's SQLSTATE (23503), so the refusal tells nothing a missing row would not.
-- A trigger rather than a policy subquery: Citus pushes no subquery in a policy down to
-- the shards (docs/scale-out.md). It reads as the writer, under RLS; staff see deleted
-- rows and may use them. Which row to check is the trigger's argument, not the table's
-- name (on a Citus shard that name is the shard's).
CREATE OR REPLACE FUNCTION vibecraft.guard_visible_agent_or_model()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A dump's load brings canvases before models; its rows were checked when written.
    -- (restoring_dump(), not row_security alone: any caller can switch row_security off
    -- inside its own statement, after the statement's policies were applied.)
    IF vibecraft.restoring_dump() THEN
        RETURN NEW;
    END IF;
    IF TG_ARGV[0] OPERATOR(pg_catalog.=) 'agent' THEN
        IF NOT EXISTS (SELECT 1 FROM vibecraft.agents a
                        WHERE a.id OPERATOR(pg_catalog.=) NEW.agent_id
                          AND a.organization_id OPERATOR(pg_catalog.=) NEW.organization_id) THEN
            RAISE EXCEPTION 'vibecraft: executions.agent_id names no agent of the execution''s organization'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NEW;
    END IF;
    -- An update that leaves the model as it was (a full-row upsert) is not a new choice.
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND NEW.model_id IS NOT DISTINCT FROM OLD.model_id
       AND NEW.organization_id IS NOT DISTINCT FROM OLD.organization_id THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vibecraft.models m
                    WHERE m.id OPERATOR(pg_catalog.=) NEW.model_id
                      AND m.organization_id OPERATOR(pg_catalog.=) NEW.organization_id) THEN
        RAISE EXCEPTION 'vibecraft: canvases.model_id names no model of the canvas''s organization'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION vibecraft.guard_visible_agent_or_model() IS
    'Trigger: an execution''s agent (argument ''agent'') or a canvas''s model (''model'') is a row of its organization the writer can see (a soft-deleted one answers as missing).';
CREATE OR REPLACE TRIGGER guard_visible_agent BEFORE INSERT ON vibecraft.executions
    FOR EACH ROW EXECUTE FUNCTION vibecraft.guard_visible_agent_or_model('agent');
CREATE OR REPLACE TRIGGER guard_visible_model BEFORE INSERT OR UPDATE OF model_id ON vibecraft.canvases
    FOR EACH ROW EXECUTE FUNCTION vibecraft.guard_visible_agent_or_model('model');

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
