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


CREATE POLICY public_or_own_read ON vibecraft.prompt_templates FOR SELECT
    USING ((is_public AND is_active)
           OR user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

CREATE POLICY own_write ON vibecraft.prompt_templates FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));


COMMENT ON TABLE vibecraft.ai_providers IS 'AI providers: API key pattern, rate limits (per minute and day), models. Installed rows have fixed ids. Also reachable as api_providers.';

COMMENT ON TABLE vibecraft.prompt_frameworks IS 'Prompt frameworks (CO-STAR, RTF, ...) and their templates. Installed rows have fixed ids.';

COMMENT ON TABLE vibecraft.prompt_templates IS 'Prompt templates, public or private to their author. Also reachable as templates.';

COMMENT ON VIEW vibecraft.api_providers IS 'Seed name of ai_providers; auto-updatable, RLS applies.';

COMMENT ON VIEW vibecraft.templates IS 'Seed name of prompt_templates; auto-updatable, RLS applies.';

-- Reference data: readable by everyone including anon, written by staff.
CREATE POLICY everyone_read ON vibecraft.ai_providers FOR SELECT USING (true);
CREATE POLICY staff_write ON vibecraft.ai_providers FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

-- Reference data: readable by everyone including anon, written by staff.
CREATE POLICY everyone_read ON vibecraft.prompt_frameworks FOR SELECT USING (true);
CREATE POLICY staff_write ON vibecraft.prompt_frameworks FOR ALL
    USING ((SELECT vibecraft.is_service()) OR (SELECT vibecraft.is_admin()));

-- Privileges.
GRANT SELECT ON vibecraft.ai_providers TO vibecraft_anon;
GRANT SELECT ON vibecraft.api_providers TO vibecraft_anon;
GRANT SELECT ON vibecraft.prompt_frameworks TO vibecraft_anon;
GRANT SELECT ON vibecraft.prompt_templates TO vibecraft_anon;
GRANT SELECT ON vibecraft.templates TO vibecraft_anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.ai_providers TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.prompt_frameworks TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.prompt_templates TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.api_providers TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.templates TO vibecraft_authenticated;
