-- The AI catalog: providers (api_providers), prompt frameworks, prompt templates (templates).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- PromptCraft's api_providers.
CREATE OR REPLACE VIEW vibecraft.api_providers WITH (security_invoker = true) AS
SELECT id, name, display_name, base_url, api_key_pattern, is_enabled, max_requests_per_minute,
       max_requests_per_day, supported_models, validation_rules, created_at, updated_at
  FROM vibecraft.ai_providers;

-- VibeCraft Studio's templates: content is template_content.
CREATE OR REPLACE VIEW vibecraft.templates WITH (security_invoker = true) AS
SELECT id, user_id, name, description, category, framework_id, template_content,
       template_content AS content, variables, tags, is_public, is_active, usage_count,
       created_at, updated_at
  FROM vibecraft.prompt_templates;

COMMENT ON TABLE vibecraft.ai_providers IS 'AI providers: API key pattern, rate limits (per minute and day), models. Installed rows have fixed ids. Also reachable as api_providers.';
COMMENT ON TABLE vibecraft.prompt_frameworks IS 'Prompt frameworks (CO-STAR, RTF, ...) and their templates. Installed rows have fixed ids.';
COMMENT ON TABLE vibecraft.prompt_templates IS 'Prompt templates, public or private to their author. Also reachable as templates.';
COMMENT ON VIEW vibecraft.api_providers IS 'Seed name of ai_providers; auto-updatable, RLS applies.';
COMMENT ON VIEW vibecraft.templates IS 'Seed name of prompt_templates; auto-updatable, RLS applies.';

-- Reference data: readable by everyone, anon included; staff (admins) add and edit rows,
-- and delete those users added (the installed rows, is_system, stay).
CREATE POLICY everyone_read ON vibecraft.ai_providers FOR SELECT USING (true);
CREATE POLICY staff_insert ON vibecraft.ai_providers FOR INSERT
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_update ON vibecraft.ai_providers FOR UPDATE
    USING (vibecraft.is_service() OR vibecraft.is_admin())
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_delete ON vibecraft.ai_providers FOR DELETE
    USING ((vibecraft.is_service() OR vibecraft.is_admin()) AND NOT is_system);

-- Reference data: readable by everyone, anon included; staff (admins) add and edit rows,
-- and delete those users added (the installed rows, is_system, stay).
CREATE POLICY everyone_read ON vibecraft.prompt_frameworks FOR SELECT USING (true);
CREATE POLICY staff_insert ON vibecraft.prompt_frameworks FOR INSERT
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_update ON vibecraft.prompt_frameworks FOR UPDATE
    USING (vibecraft.is_service() OR vibecraft.is_admin())
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_delete ON vibecraft.prompt_frameworks FOR DELETE
    USING ((vibecraft.is_service() OR vibecraft.is_admin()) AND NOT is_system);

-- Templates: public active ones readable by everyone; users write their own, which never
-- move to another user; usage_count is the database's (column grants).
CREATE POLICY public_or_own_read ON vibecraft.prompt_templates FOR SELECT
    USING ((is_public AND is_active)
           OR user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_insert ON vibecraft.prompt_templates FOR INSERT
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_update ON vibecraft.prompt_templates FOR UPDATE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high())
    WITH CHECK (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_delete ON vibecraft.prompt_templates FOR DELETE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

-- Privileges.
GRANT SELECT ON vibecraft.ai_providers, vibecraft.api_providers, vibecraft.prompt_frameworks,
    vibecraft.prompt_templates, vibecraft.templates TO vibecraft_anon;
GRANT SELECT, DELETE, INSERT (name, display_name, base_url, api_key_pattern, is_enabled, max_requests_per_minute, max_requests_per_day, supported_models, validation_rules), UPDATE (name, display_name, base_url, api_key_pattern, is_enabled, max_requests_per_minute, max_requests_per_day, supported_models, validation_rules) ON vibecraft.ai_providers TO vibecraft_authenticated;
GRANT SELECT, DELETE, INSERT (name, display_name, description, components, template, examples, is_enabled, sort_order), UPDATE (name, display_name, description, components, template, examples, is_enabled, sort_order) ON vibecraft.prompt_frameworks TO vibecraft_authenticated;
GRANT SELECT, DELETE ON vibecraft.api_providers TO vibecraft_authenticated;
GRANT INSERT (name, display_name, base_url, api_key_pattern, is_enabled, max_requests_per_minute, max_requests_per_day, supported_models, validation_rules),
      UPDATE (name, display_name, base_url, api_key_pattern, is_enabled, max_requests_per_minute, max_requests_per_day, supported_models, validation_rules)
  ON vibecraft.api_providers TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, user_id, name, description, category, framework_id, template_content, variables, tags, is_public, is_active),
      UPDATE (name, description, category, framework_id, template_content, variables, tags, is_public, is_active)
  ON vibecraft.prompt_templates TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, user_id, name, description, category, framework_id, template_content, content, variables, tags, is_public, is_active),
      UPDATE (name, description, category, framework_id, template_content, content, variables, tags, is_public, is_active)
  ON vibecraft.templates TO vibecraft_authenticated;
