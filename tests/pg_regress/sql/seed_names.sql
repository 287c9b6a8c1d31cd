-- Every table and column the five source documents name is reachable under that name.
-- The list below is taken from the five products' schema documents (000 VibeCraft Studio,
-- 001 PromptCraft Forge, 002 ValueCanvas, 003 Creo, 004 Visual Prompt Builder).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;

CREATE TEMP TABLE seed_columns (seed text, tbl text, col text);
INSERT INTO seed_columns
SELECT seed, tbl, unnest(string_to_array(cols, ' ')) FROM (VALUES
  -- 001 PromptCraft Forge: the column lists of its "Table Details"
  ('001', 'user_profiles', 'id user_id display_name avatar_url bio preferences is_active last_login_at created_at updated_at'),
  ('001', 'user_preferences', 'id user_id selected_model selected_framework theme language enable_notifications enable_analytics enable_history enable_feedback max_history_days auto_cleanup created_at updated_at'),
  ('001', 'user_sessions', 'id user_id'),
  ('001', 'api_providers', 'id name display_name base_url api_key_pattern is_enabled max_requests_per_minute max_requests_per_day supported_models validation_rules created_at updated_at'),
  ('001', 'api_configurations', 'id user_id provider api_key_encrypted is_active is_validated last_validated_at validation_error usage_count last_used_at created_at updated_at'),
  ('001', 'api_usage_logs', 'id user_id provider endpoint request_size response_size response_time_ms status_code error_message created_at'),
  ('001', 'prompt_frameworks', 'id name display_name description components template examples is_enabled sort_order created_at updated_at'),
  ('001', 'prompt_history', 'id user_id framework_id framework_name model provider user_input ai_response tone length temperature max_tokens vibe_coding processing_time_ms tokens_used cost_usd status error_message error_code created_at updated_at'),
  ('001', 'prompt_templates', 'id user_id name description framework_id template_content variables is_public is_active usage_count created_at updated_at'),
  ('001', 'feedback', 'id user_id message feedback_type priority status contact_email contact_name user_agent browser_info device_info admin_response admin_user_id responded_at rating created_at updated_at'),
  ('001', 'feedback_categories', 'id'),
  ('001', 'feedback_tags', 'id'),
  ('001', 'feedback_analytics', 'id'),
  ('001', 'system_config', 'id'),
  -- 003 Creo: key fields, index columns and views
  ('003', 'user_profiles', 'credits subscription_plan subscription_status metadata email full_name created_at'),
  ('003', 'orders', 'id user_id order_type status total_cost credits_used items metadata created_at'),
  ('003', 'downloads', 'id user_id file_name file_url file_size file_type expires_at is_active created_at'),
  ('003', 'payments', 'id user_id stripe_payment_intent_id amount status refund_amount metadata created_at'),
  ('003', 'api_keys', 'id user_id key_hash scopes usage_count expires_at'),
  ('003', 'user_preferences', 'language timezone theme'),
  ('003', 'saved_searches', 'id user_id name search_query filters is_public'),
  ('003', 'admin_logs', 'id action target_type target_id details ip_address'),
  ('003', 'system_settings', 'id key value is_public'),
  ('003', 'user_dashboard', 'user_id'),
  ('003', 'admin_dashboard', 'total_users'),
  -- 002 ValueCanvas: organizations, org-scoped users, keys, audit, agents, canvases
  ('002', 'organizations', 'id name slug tier feature_flags limits deleted_at'),
  ('002', 'users', 'id organization_id email role status deleted_at'),
  ('002', 'api_keys', 'organization_id scopes expires_at'),
  ('002', 'audit_logs', 'id organization_id user_id action resource_type resource_id changes ip_address user_agent created_at'),
  ('002', 'agents', 'id organization_id name agent_type config version is_active deleted_at'),
  ('002', 'executions', 'id organization_id agent_id status input output error_message'),
  ('002', 'models', 'id organization_id name schema version is_published deleted_at'),
  ('002', 'canvases', 'id organization_id model_id user_id name is_shared deleted_at'),
  -- 000 VibeCraft Studio: core tables, and createProject's fields
  ('000', 'users', 'id'),
  ('000', 'projects', 'id name description user_id'),
  ('000', 'project_members', 'id project_id user_id role'),
  ('000', 'project_prompts', 'id project_id'),
  ('000', 'project_knowledge', 'id project_id'),
  ('000', 'project_assets', 'id project_id'),
  ('000', 'project_settings', 'id project_id'),
  ('000', 'ai_providers', 'id name'),
  ('000', 'templates', 'id user_id is_public'),
  -- 004 Visual Prompt Builder: Auth.js, projects, analytics, storage
  ('004', 'users', 'id'),
  ('004', 'accounts', 'id user_id provider'),
  ('004', 'sessions', 'id user_id expires'),
  ('004', 'verification_tokens', 'identifier token expires'),
  ('004', 'projects', 'id user_id'),
  ('004', 'project_components', 'id project_id'),
  ('004', 'audio_recordings', 'id project_id user_id'),
  ('004', 'prompt_generations', 'id project_id user_id'),
  ('004', 'collaborators', 'id project_id user_id'),
  ('004', 'user_activity', 'id user_id'),
  ('004', 'api_usage', 'id user_id tokens_used'),
  ('004', 'error_logs', 'id'),
  ('004', 'performance_metrics', 'id'),
  ('004', 'storage_buckets', 'id name file_size_limit allowed_mime_types')
) AS s(seed, tbl, cols);

-- Tables or views missing, and columns missing (expected: none).
SELECT s.seed, s.tbl, s.col
  FROM seed_columns s
 WHERE NOT EXISTS (
       SELECT 1 FROM pg_attribute a
        WHERE a.attrelid = to_regclass('vibecraft.' || s.tbl)
          AND a.attname = s.col AND a.attnum > 0 AND NOT a.attisdropped)
 ORDER BY 1, 2, 3;

-- Each is readable with SELECT under its seed name.
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT DISTINCT tbl FROM seed_columns ORDER BY 1 LOOP
        EXECUTE format('SELECT %s FROM vibecraft.%I LIMIT 0',
            (SELECT string_agg(quote_ident(col), ', ') FROM seed_columns WHERE tbl = t), t);
    END LOOP;
END $$;
SELECT count(DISTINCT tbl) AS seed_tables, count(*) AS seed_columns FROM seed_columns;

-- The compatibility views are auto-updatable and run with the caller's rights.
SELECT c.relname, c.reloptions
  FROM pg_class c
 WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'v'
 ORDER BY 1;

-- Writing through a seed-name view lands in the canonical table.
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;
INSERT INTO vibecraft.user_profiles (user_id, email, display_name)
VALUES ('f0000000-0000-4000-8000-000000000001', 'view-writer@example.com', 'Via view');
SELECT email, display_name FROM vibecraft.users WHERE id = 'f0000000-0000-4000-8000-000000000001';
INSERT INTO vibecraft.collaborators (project_id, user_id, role)
VALUES ('d2000000-0000-4000-8000-000000000002', 'f0000000-0000-4000-8000-000000000001', 'editor');
SELECT role FROM vibecraft.project_members WHERE user_id = 'f0000000-0000-4000-8000-000000000001';
INSERT INTO vibecraft.templates (user_id, name, content)
VALUES ('f0000000-0000-4000-8000-000000000001', 'From templates view', 'Hello {name}');
SELECT name, template_content FROM vibecraft.prompt_templates WHERE user_id = 'f0000000-0000-4000-8000-000000000001';
INSERT INTO vibecraft.audio_recordings (project_id, user_id, file_name, file_path, file_size, mime_type)
VALUES ('d2000000-0000-4000-8000-000000000002', 'f0000000-0000-4000-8000-000000000001', 'take.wav',
        'f0000000-0000-4000-8000-000000000001/take.wav', 1000, 'audio/wav');
SELECT asset_type, file_name FROM vibecraft.project_assets WHERE user_id = 'f0000000-0000-4000-8000-000000000001';
UPDATE vibecraft.system_config SET value = 'true' WHERE key = 'features.analytics';
SELECT value FROM vibecraft.system_settings WHERE key = 'features.analytics';
-- A prompt without a project does not belong in project_prompts.
\set VERBOSITY terse
INSERT INTO vibecraft.project_prompts (user_id, user_input) VALUES ('f0000000-0000-4000-8000-000000000001', 'no project');
\set VERBOSITY default
