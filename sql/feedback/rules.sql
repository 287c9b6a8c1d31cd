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

CREATE POLICY with_feedback ON vibecraft.feedback_tags FOR SELECT
    USING (feedback_id IN (SELECT f.id FROM vibecraft.feedback f));
CREATE POLICY staff_insert ON vibecraft.feedback_tags FOR INSERT
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_delete ON vibecraft.feedback_tags FOR DELETE
    USING (vibecraft.is_service() OR vibecraft.is_admin());

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
