-- Provider usage logs (api_usage) and log_api_usage.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Visual Prompt Builder's api_usage (token consumption).
CREATE OR REPLACE VIEW vibecraft.api_usage WITH (security_invoker = true) AS
SELECT id, user_id, project_id, api_key_id, provider, model, endpoint, prompt_tokens,
       completion_tokens, tokens_used, cost_usd, response_time_ms, status_code, error_message,
       metadata, created_at, updated_at
  FROM vibecraft.api_usage_logs;

-- Usage logging: one row per provider call, for statistics and analytics. Users read
-- their own; rows are written by log_api_usage (which checks the project and user) or
-- the service role, never directly by a user.
CREATE POLICY own_read ON vibecraft.api_usage_logs FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());

CREATE OR REPLACE FUNCTION vibecraft.log_api_usage(
    provider text,
    model text DEFAULT NULL,
    prompt_tokens integer DEFAULT 0,
    completion_tokens integer DEFAULT 0,
    cost_usd numeric DEFAULT 0,
    response_time_ms integer DEFAULT NULL,
    status_code integer DEFAULT 200,
    endpoint text DEFAULT NULL,
    project_id uuid DEFAULT NULL,
    error_message text DEFAULT NULL,
    user_uuid uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    caller uuid := vibecraft.current_user_id();
    owner uuid := coalesce(user_uuid, caller);
    new_id uuid;
BEGIN
    IF owner IS NULL THEN
        RAISE EXCEPTION 'vibecraft.log_api_usage: no user given and no one is signed in' USING ERRCODE = '42501';
    END IF;
    IF owner IS DISTINCT FROM caller AND NOT vibecraft.is_service() THEN
        RAISE EXCEPTION 'vibecraft.log_api_usage: only the service role may log usage for another user' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vibecraft.ai_providers a WHERE a.name = lower(btrim(provider))) THEN
        RAISE EXCEPTION 'vibecraft.log_api_usage: unknown provider %', quote_literal(provider)
            USING ERRCODE = '22023', HINT = 'See vibecraft.ai_providers.';
    END IF;
    IF project_id IS NOT NULL AND NOT vibecraft.is_service()
       AND NOT vibecraft.has_project_role(project_id, 'editor') THEN
        RAISE EXCEPTION 'vibecraft.log_api_usage: you cannot log usage against that project' USING ERRCODE = '42501';
    END IF;
    -- A usage row is a small record; a caller does not park megabytes in it.
    IF octet_length(model) > 200 OR octet_length(endpoint) > 2000 OR octet_length(error_message) > 10000 THEN
        RAISE EXCEPTION 'vibecraft.log_api_usage: model, endpoint and error_message may hold at most 200, 2,000 and 10,000 bytes'
            USING ERRCODE = '22001';
    END IF;
    INSERT INTO vibecraft.api_usage_logs AS l
        (user_id, project_id, provider, model, endpoint, prompt_tokens, completion_tokens, cost_usd,
         response_time_ms, status_code, error_message)
    VALUES (owner, project_id, lower(btrim(provider)), model, endpoint, coalesce(prompt_tokens, 0),
            coalesce(completion_tokens, 0), coalesce(cost_usd, 0), response_time_ms, status_code, error_message)
    RETURNING l.id INTO new_id;
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION vibecraft.log_api_usage(text, text, integer, integer, numeric, integer, integer, text, uuid, text, uuid) IS
    'Record one provider call (tokens, cost, latency, status) for the signed-in user, or for user_uuid when called by the service role; returns the log row id. Negative figures fail with 23514.';

COMMENT ON TABLE vibecraft.api_usage_logs IS 'One row per provider call: tokens, cost, latency, status (log_api_usage). Also reachable as api_usage.';
COMMENT ON VIEW vibecraft.api_usage IS 'Seed name of api_usage_logs; auto-updatable, RLS applies.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.log_api_usage(text, text, integer, integer, numeric, integer, integer, text, uuid, text, uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT SELECT ON vibecraft.api_usage_logs, vibecraft.api_usage TO vibecraft_authenticated;
