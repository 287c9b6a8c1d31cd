-- System settings (system_config).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- PromptCraft's system_config.
CREATE OR REPLACE VIEW vibecraft.system_config WITH (security_invoker = true) AS
SELECT id, key, value, description, category, is_public, created_at, updated_at
  FROM vibecraft.system_settings;

COMMENT ON TABLE vibecraft.system_settings IS 'Platform settings (key, jsonb value), public or staff-only. Also reachable as system_config.';
COMMENT ON VIEW vibecraft.system_config IS 'Seed name of system_settings; auto-updatable, RLS applies.';

-- Settings: public ones readable by everyone, the rest by staff; staff (admins) add and edit rows,
-- and delete those users added (the installed rows, is_system, stay).
CREATE POLICY public_or_staff_read ON vibecraft.system_settings FOR SELECT USING (is_public OR vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_insert ON vibecraft.system_settings FOR INSERT
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_update ON vibecraft.system_settings FOR UPDATE
    USING (vibecraft.is_service() OR vibecraft.is_admin())
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_delete ON vibecraft.system_settings FOR DELETE
    USING ((vibecraft.is_service() OR vibecraft.is_admin()) AND NOT is_system);

-- Privileges.
GRANT SELECT ON vibecraft.system_settings, vibecraft.system_config TO vibecraft_anon;
GRANT SELECT, DELETE, INSERT (key, value, description, category, is_public), UPDATE (key, value, description, category, is_public) ON vibecraft.system_settings TO vibecraft_authenticated;
GRANT SELECT, DELETE, INSERT (key, value, description, category, is_public), UPDATE (key, value, description, category, is_public)
  ON vibecraft.system_config TO vibecraft_authenticated;
