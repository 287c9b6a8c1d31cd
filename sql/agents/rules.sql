-- ValueCanvas: AI agents, their executions, canvas models and canvases.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

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


COMMENT ON TABLE vibecraft.agents IS 'AI agents of an organization (ValueCanvas) and their configuration.';

COMMENT ON TABLE vibecraft.executions IS 'Runs of an agent: input, output, status, timing.';

COMMENT ON TABLE vibecraft.models IS 'Value models of an organization (ValueCanvas).';

COMMENT ON TABLE vibecraft.canvases IS 'Canvases of an organization (ValueCanvas).';

-- Organization members read, MANAGERs and up write.
CREATE POLICY member_read ON vibecraft.agents FOR SELECT
    USING (organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MEMBER'))::uuid[]));
CREATE POLICY manager_write ON vibecraft.agents FOR ALL
    USING (organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MANAGER'))::uuid[]));

-- Organization members read, MANAGERs and up write.
CREATE POLICY member_read ON vibecraft.models FOR SELECT
    USING (organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MEMBER'))::uuid[]));
CREATE POLICY manager_write ON vibecraft.models FOR ALL
    USING (organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MANAGER'))::uuid[]));

-- Organization members read, MANAGERs and up write.
CREATE POLICY member_read ON vibecraft.executions FOR SELECT
    USING (organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MEMBER'))::uuid[]));
CREATE POLICY manager_write ON vibecraft.executions FOR ALL
    USING (organization_id = ANY ((SELECT vibecraft.org_ids_with_role('MANAGER'))::uuid[]));

-- Privileges.
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.agents TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.executions TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.models TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.canvases TO vibecraft_authenticated;
