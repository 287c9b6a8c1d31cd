-- Operational logs: admin actions, errors, performance metrics, user activity, and the admin log archive.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Log archives: admins read them; maintenance (the service role) writes them.
CREATE POLICY admin_read ON vibecraft.admin_logs_archive FOR SELECT USING (vibecraft.is_admin());

COMMENT ON TABLE vibecraft.error_logs IS 'Errors reported by the applications.';
COMMENT ON TABLE vibecraft.performance_metrics IS 'Performance measurements reported by the applications.';
COMMENT ON TABLE vibecraft.user_activity IS 'What users did, for activity summaries.';
COMMENT ON TABLE vibecraft.admin_logs IS 'What admins and maintenance did; rows older than maintenance.archive_after_days move to admin_logs_archive.';
COMMENT ON TABLE vibecraft.admin_logs_archive IS 'admin_logs rows moved here by archive_old_admin_logs.';

-- Admin actions: staff read them; admins record their own (admin_user_id is theirs).
CREATE POLICY staff_read ON vibecraft.admin_logs FOR SELECT
    USING (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY admin_records ON vibecraft.admin_logs FOR INSERT
    WITH CHECK ((vibecraft.is_service() OR vibecraft.is_admin()) AND admin_user_id = vibecraft.current_user_id());

-- Error reports: anyone, anon included, reports them (signed-in users only as
-- themselves, and only about projects they can see: a hidden project then answers as a
-- missing one does); resolution is staff's (column grants). Performance metrics: signed-in users.
CREATE POLICY own_or_staff_read ON vibecraft.error_logs FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
           OR vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY anyone_reports ON vibecraft.error_logs FOR INSERT
    WITH CHECK ((user_id IS NULL
                 OR user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high())
                AND (project_id IS NULL OR project_id = ANY (vibecraft.project_ids_with_role('viewer'))));
CREATE POLICY staff_resolves ON vibecraft.error_logs FOR UPDATE
    USING (vibecraft.is_service() OR vibecraft.is_admin())
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_read ON vibecraft.performance_metrics FOR SELECT
    USING (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY anyone_reports ON vibecraft.performance_metrics FOR INSERT
    WITH CHECK (user_id IS NULL
                OR user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

-- Activity: users read and record their own.
CREATE POLICY own_rows ON vibecraft.user_activity FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_insert ON vibecraft.user_activity FOR INSERT
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
                AND (project_id IS NULL OR project_id = ANY (vibecraft.project_ids_with_role('viewer'))));


-- Privileges.
GRANT INSERT (user_id, project_id, error_type, message, stack_trace, severity, url, user_agent, context)
  ON vibecraft.error_logs TO vibecraft_anon;
GRANT SELECT, INSERT (admin_user_id, action, target_type, target_id, details, ip_address, user_agent)
  ON vibecraft.admin_logs TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.admin_logs_archive TO vibecraft_authenticated;
GRANT SELECT, INSERT (user_id, project_id, error_type, message, stack_trace, severity, url, user_agent, context),
      UPDATE (resolved)
  ON vibecraft.error_logs TO vibecraft_authenticated;
GRANT SELECT, INSERT (user_id, metric_name, metric_value, unit, tags, recorded_at) ON vibecraft.performance_metrics TO vibecraft_authenticated;
GRANT SELECT, INSERT (user_id, project_id, activity_type, description, metadata, ip_address, user_agent)
  ON vibecraft.user_activity TO vibecraft_authenticated;
