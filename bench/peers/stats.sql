-- Peer: get_user_stats as a team following Creo's document would write it: one
-- PL/pgSQL function recounting the user's history on every call.
CREATE OR REPLACE FUNCTION public.peer_get_user_stats(user_uuid uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object(
        'credits', (SELECT credits FROM vibecraft.credit_balances WHERE user_id = user_uuid),
        'credits_added', (SELECT coalesce(sum(amount), 0) FROM vibecraft.credit_ledger WHERE user_id = user_uuid AND amount > 0),
        'credits_spent', (SELECT coalesce(-sum(amount), 0) FROM vibecraft.credit_ledger WHERE user_id = user_uuid AND amount < 0),
        'orders_by_status', (SELECT coalesce(jsonb_object_agg(status, n), '{}')
                               FROM (SELECT status, count(*) AS n FROM vibecraft.orders WHERE user_id = user_uuid GROUP BY status) s),
        'downloads', (SELECT count(*) FROM vibecraft.downloads WHERE user_id = user_uuid),
        'projects_owned', (SELECT count(*) FROM vibecraft.projects WHERE user_id = user_uuid AND deleted_at IS NULL),
        'prompts', (SELECT count(*) FROM vibecraft.prompt_history WHERE user_id = user_uuid),
        'usage_by_provider', (SELECT coalesce(jsonb_object_agg(provider, jsonb_build_object('calls', calls, 'tokens', tokens, 'cost_usd', cost)), '{}')
                                FROM (SELECT provider, count(*) AS calls, sum(tokens_used) AS tokens, sum(cost_usd) AS cost
                                        FROM vibecraft.api_usage_logs WHERE user_id = user_uuid GROUP BY provider) x),
        'api_keys_active', (SELECT count(*) FROM vibecraft.api_keys WHERE user_id = user_uuid AND is_active AND revoked_at IS NULL));
END
$$;
