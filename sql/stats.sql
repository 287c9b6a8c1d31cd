-- Statistics. get_user_stats answers from the tables as they are (a plain recount);
-- its performance work belongs to the maintenance and statistics issue.

CREATE FUNCTION vibecraft.get_user_stats(user_uuid uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller uuid := vibecraft.current_user_id();
BEGIN
    IF user_uuid IS NULL THEN
        RAISE EXCEPTION 'vibecraft.get_user_stats: user_uuid must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF caller IS DISTINCT FROM user_uuid AND NOT vibecraft.is_service() AND NOT vibecraft.is_admin() THEN
        RAISE EXCEPTION 'vibecraft.get_user_stats: you may read only your own statistics'
            USING ERRCODE = '42501', HINT = 'The service role and admins may read anyone''s.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vibecraft.users u WHERE u.id = user_uuid) THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object(
        'user_id', user_uuid,
        'credits', (SELECT u.credits FROM vibecraft.users u WHERE u.id = user_uuid),
        'credits_added', (SELECT coalesce(sum(l.amount) FILTER (WHERE l.amount > 0), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = user_uuid),
        'credits_spent', (SELECT coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = user_uuid),
        'orders_by_status', (SELECT coalesce(jsonb_object_agg(s.status, s.n), '{}') FROM
                                (SELECT o.status, count(*) AS n FROM vibecraft.orders o WHERE o.user_id = user_uuid GROUP BY o.status) s),
        'downloads', (SELECT count(*) FROM vibecraft.downloads d WHERE d.user_id = user_uuid),
        'projects_owned', (SELECT count(*) FROM vibecraft.projects p WHERE p.user_id = user_uuid AND p.deleted_at IS NULL),
        'projects_shared_with', (SELECT count(*) FROM vibecraft.project_members m
                                  JOIN vibecraft.projects p ON p.id = m.project_id
                                 WHERE m.user_id = user_uuid AND p.user_id <> user_uuid AND p.deleted_at IS NULL),
        'prompts', (SELECT count(*) FROM vibecraft.prompt_history h WHERE h.user_id = user_uuid),
        'usage_by_provider', (SELECT coalesce(jsonb_object_agg(x.provider, jsonb_build_object('calls', x.calls, 'tokens', x.tokens, 'cost_usd', x.cost)), '{}') FROM
                                (SELECT a.provider, count(*) AS calls, sum(a.tokens_used) AS tokens, sum(a.cost_usd) AS cost
                                   FROM vibecraft.api_usage_logs a WHERE a.user_id = user_uuid GROUP BY a.provider) x),
        'api_keys_active', (SELECT count(*) FROM vibecraft.api_keys k WHERE k.user_id = user_uuid AND k.is_active
                               AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())),
        'last_activity_at', (SELECT greatest(u.last_activity_at, u.last_login_at,
                                    (SELECT max(a.created_at) FROM vibecraft.user_activity a WHERE a.user_id = user_uuid))
                               FROM vibecraft.users u WHERE u.id = user_uuid));
END
$$;

COMMENT ON FUNCTION vibecraft.get_user_stats(uuid) IS
    'A user''s statistics as jsonb: credits, credits added and spent, orders by status, downloads, projects owned and shared, prompts, usage by provider, active API keys, last activity. A user its own; the service role and admins anyone''s.';
