-- Feedback, its categories, tags and analytics.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

COMMENT ON TABLE vibecraft.feedback IS 'Feedback sent by users (or anonymously).';
COMMENT ON TABLE vibecraft.feedback_categories IS 'Feedback categories. Installed rows have fixed ids.';
COMMENT ON TABLE vibecraft.feedback_tags IS 'Tags on feedback.';
COMMENT ON TABLE vibecraft.feedback_analytics IS 'Staff analysis of feedback: sentiment, priority, status.';

-- Feedback: anyone, anon included, may send it (signed-in users only as themselves); its
-- status, priority and answer are staff's (column grants: a sender sets none of them).
CREATE POLICY own_or_staff_read ON vibecraft.feedback FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY anyone_submits ON vibecraft.feedback FOR INSERT
    WITH CHECK (user_id IS NULL
                OR user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY staff_responds ON vibecraft.feedback FOR UPDATE
    USING (vibecraft.is_service() OR vibecraft.is_admin())
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_delete ON vibecraft.feedback FOR DELETE
    USING (vibecraft.is_service() OR vibecraft.is_admin());

-- Tags: read with their feedback (its sender and staff), by the sender the tag carries,
-- so that the policy has no subquery on feedback (Citus pushes none down to the shards).
CREATE POLICY with_feedback ON vibecraft.feedback_tags FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_insert ON vibecraft.feedback_tags FOR INSERT
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_delete ON vibecraft.feedback_tags FOR DELETE
    USING (vibecraft.is_service() OR vibecraft.is_admin());

-- A tag carries the sender of its feedback, whatever the writer passes (no signed-in role
-- is granted the column); a sender deleted later leaves NULL in both (ON DELETE SET NULL,
-- which updates user_id only and so does not fire this trigger). It reads as the writer:
-- the staff who tag feedback read all of it.
CREATE OR REPLACE FUNCTION vibecraft.copy_feedback_sender()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A dump's load holds the sender, and may bring tags before their feedback.
    -- (restoring_dump(), not row_security alone: any caller can switch row_security off
    -- inside its own statement.)
    IF vibecraft.restoring_dump() THEN
        RETURN NEW;
    END IF;
    NEW.user_id := (SELECT f.user_id FROM vibecraft.feedback f WHERE f.id OPERATOR(pg_catalog.=) NEW.feedback_id);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION vibecraft.copy_feedback_sender() IS
    'Trigger: a feedback tag carries the sender of its feedback (user_id), which its policy reads.';
CREATE OR REPLACE TRIGGER copy_feedback_sender BEFORE INSERT OR UPDATE OF feedback_id ON vibecraft.feedback_tags
    FOR EACH ROW EXECUTE FUNCTION vibecraft.copy_feedback_sender();

CREATE POLICY staff_read ON vibecraft.feedback_analytics FOR SELECT
    USING (vibecraft.is_service() OR vibecraft.is_admin());

-- Reference data: readable by everyone, anon included; staff (admins) add and edit rows,
-- and delete those users added (the installed rows, is_system, stay).
CREATE POLICY everyone_read ON vibecraft.feedback_categories FOR SELECT USING (true);
CREATE POLICY staff_insert ON vibecraft.feedback_categories FOR INSERT
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_update ON vibecraft.feedback_categories FOR UPDATE
    USING (vibecraft.is_service() OR vibecraft.is_admin())
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_delete ON vibecraft.feedback_categories FOR DELETE
    USING ((vibecraft.is_service() OR vibecraft.is_admin()) AND NOT is_system);

-- Privileges.
GRANT SELECT ON vibecraft.feedback_categories TO vibecraft_anon;
GRANT INSERT (category_id, message, feedback_type, contact_email, contact_name, user_agent, browser_info, device_info, rating)
  ON vibecraft.feedback TO vibecraft_anon;
GRANT SELECT, DELETE,
      INSERT (id, user_id, category_id, message, feedback_type, contact_email, contact_name, user_agent, browser_info,
              device_info, rating),
      UPDATE (priority, status, admin_response, admin_user_id, responded_at)
  ON vibecraft.feedback TO vibecraft_authenticated;
GRANT SELECT, DELETE, INSERT (name, description, color, sort_order, is_active), UPDATE (name, description, color, sort_order, is_active) ON vibecraft.feedback_categories TO vibecraft_authenticated;
GRANT SELECT, DELETE, INSERT (feedback_id, tag) ON vibecraft.feedback_tags TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.feedback_analytics TO vibecraft_authenticated;
