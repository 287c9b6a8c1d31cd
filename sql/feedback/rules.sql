-- Feedback, its categories, tags and analytics.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

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


COMMENT ON TABLE vibecraft.feedback IS 'Feedback sent by users (or anonymously).';

COMMENT ON TABLE vibecraft.feedback_categories IS 'Feedback categories. Installed rows have fixed ids.';

COMMENT ON TABLE vibecraft.feedback_tags IS 'Tags on feedback.';

COMMENT ON TABLE vibecraft.feedback_analytics IS 'Staff analysis of feedback: sentiment, priority, status.';

-- Reference data: readable by everyone including anon, written by staff.
CREATE POLICY everyone_read ON vibecraft.feedback_categories FOR SELECT USING (true);
CREATE POLICY staff_write ON vibecraft.feedback_categories FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

-- Privileges.
GRANT SELECT ON vibecraft.feedback_categories TO vibecraft_anon;
GRANT INSERT ON vibecraft.feedback TO vibecraft_anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.feedback TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.feedback_categories TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.feedback_tags TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.feedback_analytics TO vibecraft_authenticated;
GRANT UPDATE ON vibecraft.feedback_analytics TO vibecraft_authenticated;
