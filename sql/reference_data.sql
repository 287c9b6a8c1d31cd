-- Reference data installed with the extension (is_system = true; pg_dump skips these
-- rows because CREATE EXTENSION re-creates them).

INSERT INTO vibecraft.ai_providers
    (name, display_name, base_url, api_key_pattern, max_requests_per_minute, max_requests_per_day, supported_models, is_system)
VALUES
    ('openai', 'OpenAI', 'https://api.openai.com/v1', '^sk-(proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}$', 500, 10000,
     '["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini"]', true),
    ('anthropic', 'Anthropic', 'https://api.anthropic.com/v1', '^sk-ant-[A-Za-z0-9_-]{20,}$', 50, 5000,
     '["claude-sonnet-4", "claude-opus-4", "claude-3-5-haiku"]', true),
    ('google', 'Google Gemini', 'https://generativelanguage.googleapis.com/v1beta', '^AIza[0-9A-Za-z_-]{35}$', 60, 1500,
     '["gemini-2.0-flash", "gemini-1.5-pro"]', true),
    ('mistral', 'Mistral AI', 'https://api.mistral.ai/v1', '^[A-Za-z0-9]{32}$', 60, 10000,
     '["mistral-large-latest", "mistral-small-latest", "codestral-latest"]', true),
    ('groq', 'Groq', 'https://api.groq.com/openai/v1', '^gsk_[A-Za-z0-9]{20,}$', 30, 14400,
     '["llama-3.3-70b-versatile", "llama-3.1-8b-instant"]', true),
    ('cohere', 'Cohere', 'https://api.cohere.com/v2', '^[A-Za-z0-9]{40}$', 100, 1000,
     '["command-r-plus", "command-r"]', true);

INSERT INTO vibecraft.prompt_frameworks (name, display_name, description, components, template, sort_order, is_system)
VALUES
    ('costar', 'CO-STAR', 'Context, Objective, Style, Tone, Audience, Response format.',
     '["context", "objective", "style", "tone", "audience", "response"]',
     E'# Context\n{context}\n# Objective\n{objective}\n# Style\n{style}\n# Tone\n{tone}\n# Audience\n{audience}\n# Response\n{response}', 10, true),
    ('risen', 'RISEN', 'Role, Instructions, Steps, End goal, Narrowing.',
     '["role", "instructions", "steps", "end_goal", "narrowing"]',
     E'Role: {role}\nInstructions: {instructions}\nSteps: {steps}\nEnd goal: {end_goal}\nNarrowing: {narrowing}', 20, true),
    ('race', 'RACE', 'Role, Action, Context, Expectation.',
     '["role", "action", "context", "expectation"]',
     E'Role: {role}\nAction: {action}\nContext: {context}\nExpectation: {expectation}', 30, true),
    ('crispe', 'CRISPE', 'Capacity and role, Insight, Statement, Personality, Experiment.',
     '["capacity", "insight", "statement", "personality", "experiment"]',
     E'Act as {capacity}.\nInsight: {insight}\nStatement: {statement}\nPersonality: {personality}\nExperiment: {experiment}', 40, true),
    ('rtf', 'RTF', 'Role, Task, Format.', '["role", "task", "format"]',
     E'Role: {role}\nTask: {task}\nFormat: {format}', 50, true),
    ('tag', 'TAG', 'Task, Action, Goal.', '["task", "action", "goal"]',
     E'Task: {task}\nAction: {action}\nGoal: {goal}', 60, true);

INSERT INTO vibecraft.feedback_categories (name, description, color, sort_order, is_system)
VALUES
    ('bug', 'Something does not work as expected', '#d73a4a', 10, true),
    ('feature_request', 'An idea for something new', '#0e8a16', 20, true),
    ('ux', 'Usability and design', '#1d76db', 30, true),
    ('performance', 'Slowness or resource use', '#fbca04', 40, true),
    ('billing', 'Credits, orders and payments', '#5319e7', 50, true),
    ('other', 'Anything else', '#cccccc', 60, true);

INSERT INTO vibecraft.storage_buckets (name, public, file_size_limit, allowed_mime_types, is_system)
VALUES
    ('avatars', true, 2 * 1024 * 1024, ARRAY['image/png', 'image/jpeg', 'image/webp', 'image/gif'], true),
    ('project-assets', false, 50 * 1024 * 1024, NULL, true),
    ('audio-recordings', false, 100 * 1024 * 1024,
     ARRAY['audio/mpeg', 'audio/wav', 'audio/webm', 'audio/ogg', 'audio/mp4', 'audio/x-m4a'], true),
    ('exports', false, 500 * 1024 * 1024, ARRAY['application/zip', 'application/json', 'text/csv', 'application/pdf'], true);

INSERT INTO vibecraft.system_settings (key, value, description, category, is_public, is_system)
VALUES
    ('app.maintenance_mode', 'false', 'Refuse writes from applications while true', 'app', true, true),
    ('maintenance.archive_after_days', '90', 'daily_maintenance moves admin and audit log rows older than this many days to the archive tables', 'maintenance', false, true),
    ('features.history', 'true', 'Prompt history is recorded', 'features', true, true),
    ('features.feedback', 'true', 'The feedback form is shown', 'features', true, true),
    ('features.analytics', 'false', 'Usage analytics are collected', 'features', true, true),
    ('rate_limit.api_calls_per_hour', '100', 'Default API calls per user and hour', 'rate_limits', false, true),
    ('credits.signup_bonus', '100', 'Credits a new user starts with', 'credits', false, true),
    ('maintenance.audit_log_retention_days', '365', 'Audit rows older than this move to the archive', 'maintenance', false, true),
    ('maintenance.admin_log_retention_days', '90', 'Admin log rows older than this move to the archive', 'maintenance', false, true),
    ('maintenance.batch_size', '5000', 'Rows moved per batch by maintenance jobs', 'maintenance', false, true);

-- The rows installed here get the same ids in every database (derived from their
-- names), so that rows referring to them (feedback.category_id, project_assets.bucket_id)
-- still point at them after a dump is restored into a fresh CREATE EXTENSION.
UPDATE vibecraft.ai_providers SET id = md5('vibecraft.ai_providers:' || name)::uuid WHERE is_system;
UPDATE vibecraft.prompt_frameworks SET id = md5('vibecraft.prompt_frameworks:' || name)::uuid WHERE is_system;
UPDATE vibecraft.feedback_categories SET id = md5('vibecraft.feedback_categories:' || name)::uuid WHERE is_system;
UPDATE vibecraft.storage_buckets SET id = md5('vibecraft.storage_buckets:' || name)::uuid WHERE is_system;
UPDATE vibecraft.system_settings SET id = md5('vibecraft.system_settings:' || key)::uuid WHERE is_system;
