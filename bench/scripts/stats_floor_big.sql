-- The floor of get_user_stats: one SELECT reading the rows it returns (the user's balance
-- and running totals, the small per-user lists) and building the same jsonb.
SELECT jsonb_build_object(
    'user_id', u.id,
    'credits', b.credits,
    'credits_added', b.credits + b.credits_spent,
    'credits_spent', b.credits_spent,
    'prompts', coalesce((SELECT t.prompts FROM vibecraft.user_stat_totals t WHERE t.user_id = u.id), 0),
    'usage_by_provider', (SELECT coalesce(jsonb_object_agg(p.provider, jsonb_build_object('calls', p.calls, 'tokens', p.tokens, 'cost_usd', p.cost_usd)), '{}')
                            FROM vibecraft.user_provider_totals p WHERE p.user_id = u.id AND p.calls > 0),
    'orders_by_status', (SELECT coalesce(jsonb_object_agg(s.status, s.n), '{}')
                           FROM (SELECT o.status, count(*) AS n FROM vibecraft.orders o WHERE o.user_id = u.id GROUP BY o.status) s),
    'downloads', (SELECT count(*) FROM vibecraft.downloads d WHERE d.user_id = u.id),
    'projects_owned', (SELECT count(*) FROM vibecraft.projects p WHERE p.user_id = u.id AND p.deleted_at IS NULL),
    'projects_shared_with', (SELECT count(*) FROM vibecraft.project_members m JOIN vibecraft.projects p ON p.id = m.project_id
                              WHERE m.user_id = u.id AND p.user_id <> u.id AND p.deleted_at IS NULL),
    'api_keys_active', (SELECT count(*) FROM vibecraft.api_keys k WHERE k.user_id = u.id AND k.is_active
                          AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())),
    'last_activity_at', greatest(u.last_activity_at, u.last_login_at,
                                 (SELECT max(a.created_at) FROM vibecraft.user_activity a WHERE a.user_id = u.id)))
  FROM vibecraft.users u LEFT JOIN vibecraft.credit_balances b ON b.user_id = u.id
 WHERE u.id = 'b1000000-0000-4000-8000-000000000001';
