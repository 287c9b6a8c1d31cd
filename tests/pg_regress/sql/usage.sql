-- Logging provider calls: who may log for whom, and what a bad figure gets.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;
-- As the service role (here: a superuser), for a given user.
SELECT vibecraft.log_api_usage('OpenAI', 'gpt-4o-mini', 120, 80, 0.0003, 850, 200, '/chat/completions',
                               user_uuid => 'd1000000-0000-4000-8000-000000000003') IS NOT NULL AS logged;
SELECT provider, model, tokens_used, cost_usd, status_code FROM vibecraft.api_usage_logs
 WHERE user_id = 'd1000000-0000-4000-8000-000000000003' AND model = 'gpt-4o-mini' AND prompt_tokens = 120;
-- Through Visual Prompt Builder's api_usage view, the same row.
SELECT count(*) AS via_api_usage FROM vibecraft.api_usage
 WHERE user_id = 'd1000000-0000-4000-8000-000000000003' AND prompt_tokens = 120;
\set VERBOSITY terse
SELECT vibecraft.log_api_usage('nosuchai', user_uuid => 'd1000000-0000-4000-8000-000000000003');
SELECT vibecraft.log_api_usage('openai', prompt_tokens => -5, user_uuid => 'd1000000-0000-4000-8000-000000000003');
SELECT vibecraft.log_api_usage('openai');
\set VERBOSITY default
