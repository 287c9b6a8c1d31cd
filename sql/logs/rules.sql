-- Operational logs: admin actions, errors, performance metrics, user activity, and the admin log archive.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Log archives: admins read them; maintenance (the service role) writes them.
CREATE POLICY admin_read ON vibecraft.admin_logs_archive FOR SELECT USING ((SELECT vibecraft.is_admin()));

CREATE POLICY staff_only ON vibecraft.admin_logs FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

CREATE POLICY own_or_staff_read ON vibecraft.error_logs FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
           OR (SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

CREATE POLICY anyone_reports ON vibecraft.error_logs FOR INSERT
    WITH CHECK (user_id IS NULL
                OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

CREATE POLICY staff_read ON vibecraft.performance_metrics FOR SELECT
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

CREATE POLICY anyone_reports ON vibecraft.performance_metrics FOR INSERT
    WITH CHECK (user_id IS NULL
                OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

CREATE POLICY own_rows ON vibecraft.user_activity FOR SELECT
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

CREATE POLICY own_insert ON vibecraft.user_activity FOR INSERT
    WITH CHECK (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));


COMMENT ON TABLE vibecraft.error_logs IS 'Errors reported by the applications.';

COMMENT ON TABLE vibecraft.performance_metrics IS 'Performance measurements reported by the applications.';

COMMENT ON TABLE vibecraft.user_activity IS 'What users did, for activity summaries.';

COMMENT ON TABLE vibecraft.admin_logs IS 'What admins and maintenance did; rows older than maintenance.archive_after_days move to admin_logs_archive.';

COMMENT ON TABLE vibecraft.admin_logs_archive IS 'admin_logs rows moved here by archive_old_admin_logs.';

-- Privileges.
GRANT INSERT ON vibecraft.error_logs TO vibecraft_anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.error_logs TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.performance_metrics TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.user_activity TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.admin_logs TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.admin_logs_archive TO vibecraft_authenticated;
GRANT INSERT ON vibecraft.admin_logs TO vibecraft_authenticated;
