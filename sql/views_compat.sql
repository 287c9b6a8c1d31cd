-- Seed names for canonical tables. Each product keeps its own table names; where two
-- products name one concept differently, the canonical table has the other name as an
-- auto-updatable view. security_invoker = true: the caller's privileges and the
-- table's row-level security apply through the view.

-- PromptCraft's and Creo's user_profiles: user_id is the user's id.
CREATE VIEW vibecraft.user_profiles WITH (security_invoker = true) AS
SELECT id, id AS user_id, organization_id, email, full_name, display_name, avatar_url, bio,
       preferences, is_active, last_login_at, credits, subscription_plan, subscription_status,
       metadata, role, status, created_at, updated_at, deleted_at
  FROM vibecraft.users;

-- PromptCraft's user_sessions.
CREATE VIEW vibecraft.user_sessions WITH (security_invoker = true) AS
SELECT id, user_id, session_token, expires, expires AS expires_at, ip_address, user_agent,
       last_activity_at, created_at, updated_at
  FROM vibecraft.sessions;

-- Visual Prompt Builder's collaborators.
CREATE VIEW vibecraft.collaborators WITH (security_invoker = true) AS
SELECT id, project_id, user_id, role, invited_by, created_at, updated_at
  FROM vibecraft.project_members;

-- VibeCraft Studio's project_prompts and Visual Prompt Builder's prompt_generations:
-- the prompts that belong to a project.
CREATE VIEW vibecraft.project_prompts WITH (security_invoker = true) AS
SELECT id, project_id, user_id, framework_id, framework_name, model, provider, user_input,
       ai_response, temperature, max_tokens, processing_time_ms, tokens_used, cost_usd, status,
       error_message, metadata, created_at, updated_at
  FROM vibecraft.prompt_history
 WHERE project_id IS NOT NULL
  WITH CASCADED CHECK OPTION;

-- (one concept, two seed names: the second is a view of the first)
CREATE VIEW vibecraft.prompt_generations WITH (security_invoker = true) AS
SELECT * FROM vibecraft.project_prompts
  WITH CASCADED CHECK OPTION;

-- Visual Prompt Builder's audio_recordings: the audio assets.
CREATE VIEW vibecraft.audio_recordings WITH (security_invoker = true) AS
SELECT id, project_id, user_id, bucket_id, file_name, file_path, file_size, mime_type,
       duration_seconds, transcription, metadata, asset_type, created_at, updated_at
  FROM vibecraft.project_assets
 WHERE asset_type = 'audio'
  WITH CASCADED CHECK OPTION;
ALTER VIEW vibecraft.audio_recordings ALTER COLUMN asset_type SET DEFAULT 'audio';

-- PromptCraft's api_providers.
CREATE VIEW vibecraft.api_providers WITH (security_invoker = true) AS
SELECT id, name, display_name, base_url, api_key_pattern, is_enabled, max_requests_per_minute,
       max_requests_per_day, supported_models, validation_rules, created_at, updated_at
  FROM vibecraft.ai_providers;

-- Visual Prompt Builder's api_usage (token consumption).
CREATE VIEW vibecraft.api_usage WITH (security_invoker = true) AS
SELECT id, user_id, project_id, api_key_id, provider, model, endpoint, prompt_tokens,
       completion_tokens, tokens_used, cost_usd, response_time_ms, status_code, error_message,
       metadata, created_at, updated_at
  FROM vibecraft.api_usage_logs;

-- VibeCraft Studio's templates: content is template_content.
CREATE VIEW vibecraft.templates WITH (security_invoker = true) AS
SELECT id, user_id, name, description, category, framework_id, template_content,
       template_content AS content, variables, tags, is_public, is_active, usage_count,
       created_at, updated_at
  FROM vibecraft.prompt_templates;

-- PromptCraft's system_config.
CREATE VIEW vibecraft.system_config WITH (security_invoker = true) AS
SELECT id, key, value, description, category, is_public, created_at, updated_at
  FROM vibecraft.system_settings;
