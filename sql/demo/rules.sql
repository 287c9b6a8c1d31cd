-- vibecraft.seed_demo_data(): the ValueCanvas demo (3 organizations, 5 users with ADMIN,
-- MANAGER and MEMBER roles, 3 agents, 2 canvas models, 2 canvases, executions, audit
-- rows) plus projects, prompts, templates, orders, payments, downloads, API keys and the
-- rest, so every table has realistic rows. Fixed ids and ON CONFLICT DO NOTHING make
-- it idempotent. Not granted to any role: a superuser runs it (make run does).
-- Demo API key secrets are public knowledge (see below): never seed a production database.

CREATE OR REPLACE FUNCTION vibecraft.seed_demo_data()
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    org_demo   constant uuid := 'd0000000-0000-4000-8000-000000000001';
    org_ent    constant uuid := 'd0000000-0000-4000-8000-000000000002';
    org_start  constant uuid := 'd0000000-0000-4000-8000-000000000003';
    u_admin    constant uuid := 'd1000000-0000-4000-8000-000000000001';
    u_manager  constant uuid := 'd1000000-0000-4000-8000-000000000002';
    u_member   constant uuid := 'd1000000-0000-4000-8000-000000000003';
    u_ent      constant uuid := 'd1000000-0000-4000-8000-000000000004';
    u_start    constant uuid := 'd1000000-0000-4000-8000-000000000005';
    p_studio   constant uuid := 'd2000000-0000-4000-8000-000000000001';
    p_podcast  constant uuid := 'd2000000-0000-4000-8000-000000000002';
    result jsonb;
BEGIN
    INSERT INTO vibecraft.organizations (id, name, slug, tier, feature_flags, limits) VALUES
        (org_demo, 'Demo Organization', 'demo-org', 'PRO', '{"canvas": true, "agents": true}', '{"users": 25, "agents": 10}'),
        (org_ent, 'Enterprise Corp', 'enterprise-corp', 'ENTERPRISE', '{"canvas": true, "agents": true, "sso": true}', '{"users": 1000, "agents": 100}'),
        (org_start, 'Startup Inc', 'startup-inc', 'FREE', '{"canvas": true}', '{"users": 5, "agents": 1}')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.users (id, organization_id, email, full_name, display_name, role, system_role, status, subscription_plan) VALUES
        (u_admin, org_demo, 'admin@demo-org.com', 'Ada Admin', 'Ada', 'ADMIN', 'admin', 'ACTIVE', 'pro'),
        (u_manager, org_demo, 'manager@demo-org.com', 'Max Manager', 'Max', 'MANAGER', 'user', 'ACTIVE', 'basic'),
        (u_member, org_demo, 'member@demo-org.com', 'Mia Member', 'Mia', 'MEMBER', 'user', 'ACTIVE', 'free'),
        (u_ent, org_ent, 'admin@enterprise-corp.com', 'Erin Enterprise', 'Erin', 'ADMIN', 'user', 'ACTIVE', 'enterprise'),
        (u_start, org_start, 'founder@startup-inc.com', 'Sam Startup', 'Sam', 'MEMBER', 'user', 'INVITED', 'free')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.user_preferences (user_id, selected_model, selected_framework, theme, max_history_days, auto_cleanup)
    SELECT u, 'gpt-4o-mini', 'costar', 'dark', 90, u = u_member
      FROM unnest(ARRAY[u_admin, u_manager, u_member, u_ent, u_start]) AS u
    ON CONFLICT (user_id) DO NOTHING;

    -- Credits: the ledger is the history, credit_balances.credits its running sum.
    INSERT INTO vibecraft.credit_ledger (id, user_id, amount, balance_after, reason, idempotency_key, reference_type, reference_id) VALUES
        ('d3000000-0000-4000-8000-000000000001', u_admin, 1000, 1000, 'signup bonus', 'demo-signup', NULL, NULL),
        ('d3000000-0000-4000-8000-000000000002', u_manager, 500, 500, 'signup bonus', 'demo-signup', NULL, NULL),
        ('d3000000-0000-4000-8000-000000000003', u_member, 100, 100, 'signup bonus', 'demo-signup', NULL, NULL),
        ('d3000000-0000-4000-8000-000000000004', u_member, 500, 600, 'credit purchase', 'demo-purchase', 'order', 'de000000-0000-4000-8000-000000000002'),
        ('d3000000-0000-4000-8000-000000000005', u_member, -5, 595, 'order stock_download', 'demo-order-1', 'order', 'de000000-0000-4000-8000-000000000001'),
        ('d3000000-0000-4000-8000-000000000006', u_ent, 5000, 5000, 'signup bonus', 'demo-signup', NULL, NULL),
        ('d3000000-0000-4000-8000-000000000007', u_start, 100, 100, 'signup bonus', 'demo-signup', NULL, NULL)
    ON CONFLICT DO NOTHING;
    UPDATE vibecraft.credit_balances b
       SET credits = (SELECT coalesce(sum(l.amount), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = b.user_id),
           credits_spent = (SELECT coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = b.user_id)
     WHERE b.user_id IN (u_admin, u_manager, u_member, u_ent, u_start);

    INSERT INTO vibecraft.agents (id, organization_id, created_by, name, agent_type, description, config) VALUES
        ('d4000000-0000-4000-8000-000000000001', org_demo, u_admin, 'Opportunity Scout', 'opportunity', 'Finds value opportunities in account data', '{"model": "gpt-4o"}'),
        ('d4000000-0000-4000-8000-000000000002', org_demo, u_manager, 'Target Setter', 'target', 'Turns opportunities into measurable targets', '{"model": "claude-sonnet-4"}'),
        ('d4000000-0000-4000-8000-000000000003', org_ent, u_ent, 'Realization Tracker', 'realization', 'Tracks realized value against targets', '{"model": "gpt-4o-mini"}')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.executions (id, organization_id, agent_id, user_id, status, input, output, started_at, completed_at, duration_ms, error_message) VALUES
        ('d5000000-0000-4000-8000-000000000001', org_demo, 'd4000000-0000-4000-8000-000000000001', u_admin, 'completed', '{"account": "Acme"}', '{"opportunities": 3}', now() - interval '2 hours', now() - interval '2 hours' + interval '4 seconds', 4000, NULL),
        ('d5000000-0000-4000-8000-000000000002', org_demo, 'd4000000-0000-4000-8000-000000000002', u_manager, 'failed', '{"opportunity": 1}', NULL, now() - interval '1 hour', now() - interval '1 hour' + interval '1 second', 1000, 'provider timeout'),
        ('d5000000-0000-4000-8000-000000000003', org_ent, 'd4000000-0000-4000-8000-000000000003', u_ent, 'running', '{"quarter": "Q3"}', NULL, now(), NULL, NULL, NULL)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.models (id, organization_id, created_by, name, description, schema, is_published) VALUES
        ('d6000000-0000-4000-8000-000000000001', org_demo, u_admin, 'Value Canvas', 'Customer value canvas', '{"sections": ["jobs", "pains", "gains"]}', true),
        ('d6000000-0000-4000-8000-000000000002', org_ent, u_ent, 'Business Model Canvas', 'The nine building blocks', '{"sections": ["partners", "activities", "resources", "value", "relationships", "channels", "segments", "costs", "revenue"]}', false)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.canvases (id, organization_id, model_id, user_id, name, data, is_shared) VALUES
        ('d7000000-0000-4000-8000-000000000001', org_demo, 'd6000000-0000-4000-8000-000000000001', u_manager, 'Acme value canvas', '{"jobs": ["reduce churn"]}', true),
        ('d7000000-0000-4000-8000-000000000002', org_ent, 'd6000000-0000-4000-8000-000000000002', u_ent, 'FY26 business model', '{"value": ["platform"]}', false)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.audit_logs (id, organization_id, user_id, action, resource_type, resource_id, changes, ip_address, user_agent) VALUES
        ('d8000000-0000-4000-8000-000000000001', org_demo, u_admin, 'login', 'session', NULL, NULL, '203.0.113.10', 'Mozilla/5.0 (demo)'),
        ('d8000000-0000-4000-8000-000000000002', org_demo, u_manager, 'create', 'canvas', 'd7000000-0000-4000-8000-000000000001',
         '{"before": null, "after": {"name": "Acme value canvas"}}', '203.0.113.11', 'Mozilla/5.0 (demo)')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.projects (id, user_id, organization_id, name, description, is_public) VALUES
        (p_studio, u_admin, org_demo, 'Prompt Studio', 'Prompts for the marketing site', false),
        (p_podcast, u_member, org_demo, 'Podcast Builder', 'Voice notes into show notes', true)
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.project_members (project_id, user_id, role, invited_by) VALUES
        (p_studio, u_admin, 'owner', NULL),
        (p_studio, u_manager, 'editor', u_admin),
        (p_studio, u_member, 'viewer', u_admin),
        (p_podcast, u_member, 'owner', NULL)
    ON CONFLICT (project_id, user_id) DO NOTHING;
    -- Sam is invited to the studio and has not answered yet.
    INSERT INTO vibecraft.project_invitations (project_id, user_id, role, invited_by) VALUES
        (p_studio, u_start, 'viewer', u_admin)
    ON CONFLICT (project_id, user_id) DO NOTHING;
    INSERT INTO vibecraft.project_settings (project_id, key, value) VALUES
        (p_studio, 'default_model', '"gpt-4o-mini"'), (p_podcast, 'language', '"en"')
    ON CONFLICT (project_id, key) DO NOTHING;
    INSERT INTO vibecraft.project_components (id, project_id, user_id, component_type, name, position, config, sort_order) VALUES
        ('d9000000-0000-4000-8000-000000000001', p_podcast, u_member, 'audio_input', 'Voice note', '{"x": 40, "y": 80}', '{"max_seconds": 300}', 1),
        ('d9000000-0000-4000-8000-000000000002', p_podcast, u_member, 'prompt_block', 'Show notes', '{"x": 320, "y": 80}', '{"framework": "rtf"}', 2)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.prompt_history (id, user_id, project_id, framework_id, framework_name, model, provider, user_input, ai_response, tokens_used, cost_usd, processing_time_ms) VALUES
        ('da000000-0000-4000-8000-000000000001', u_admin, p_studio, 'costar', 'CO-STAR', 'gpt-4o-mini', 'openai', 'Write a hero headline for an AI prompt studio', 'Prompts that ship.', 420, 0.000630, 900),
        ('da000000-0000-4000-8000-000000000002', u_manager, p_studio, 'race', 'RACE', 'claude-sonnet-4', 'anthropic', 'Draft a pricing page FAQ', 'Q: Can I cancel anytime? A: Yes.', 880, 0.013200, 2100),
        ('da000000-0000-4000-8000-000000000003', u_member, p_podcast, 'rtf', 'RTF', 'gpt-4o-mini', 'openai', 'Summarize this voice note into show notes', '1. Intro 2. Guest 3. Takeaways', 650, 0.000975, 1200),
        ('da000000-0000-4000-8000-000000000004', u_member, NULL, 'tag', 'TAG', 'llama-3.3-70b-versatile', 'groq', 'Give me five podcast names about databases', 'Row Level, The Index, ...', 300, 0.000180, 400)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.project_knowledge (id, project_id, user_id, title, content, content_type, tags) VALUES
        ('db000000-0000-4000-8000-000000000001', p_studio, u_admin, 'Brand voice', 'Plain words, short sentences, no hype.', 'markdown', '{brand,style}')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.project_assets (id, project_id, user_id, bucket_id, asset_type, file_name, file_path, file_size, mime_type, duration_seconds) VALUES
        ('dc000000-0000-4000-8000-000000000001', p_podcast, u_member,
         md5('vibecraft.storage_buckets:audio-recordings')::uuid, 'audio',  -- the installed bucket's id
         'episode-1.webm', u_member::text || '/episode-1.webm', 1843200, 'audio/webm', 118.4)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.prompt_templates (id, user_id, name, description, category, framework_id, template_content, variables, is_public) VALUES
        ('dd000000-0000-4000-8000-000000000001', u_admin, 'Landing page hero', 'Headline and subline for a product page', 'marketing', 'costar', 'Write a headline for {product} aimed at {audience}.', '["product", "audience"]', true),
        ('dd000000-0000-4000-8000-000000000002', u_member, 'Show notes', 'Private: my show notes format', 'audio', 'rtf', 'Turn {transcript} into show notes.', '["transcript"]', false)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.orders (id, user_id, order_type, status, total_cost, credits_used, items, completed_at) VALUES
        ('de000000-0000-4000-8000-000000000001', u_member, 'stock_download', 'completed', 5.00, 5, '[{"id": "123", "type": "image"}]', now() - interval '1 day'),
        ('de000000-0000-4000-8000-000000000002', u_member, 'credit_purchase', 'completed', 9.99, 0, '[{"credits": 500}]', now() - interval '2 days'),
        ('de000000-0000-4000-8000-000000000003', u_manager, 'ai_generation', 'pending', 2.00, 0, '[{"prompt": "logo"}]', NULL)
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.payments (id, user_id, order_id, stripe_payment_intent_id, amount, status, refund_amount) VALUES
        ('df000000-0000-4000-8000-000000000001', u_member, 'de000000-0000-4000-8000-000000000002', 'pi_demo_0001', 9.99, 'succeeded', 0),
        ('df000000-0000-4000-8000-000000000002', u_ent, NULL, 'pi_demo_0002', 499.00, 'partially_refunded', 99.00)
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.downloads (id, user_id, order_id, file_name, file_url, file_size, file_type, expires_at, is_active) VALUES
        ('e0000000-0000-4000-8000-000000000001', u_member, 'de000000-0000-4000-8000-000000000001', 'sunset.jpg', 'https://cdn.example.com/d/sunset.jpg', 2048000, 'image/jpeg', now() + interval '7 days', true),
        ('e0000000-0000-4000-8000-000000000002', u_member, 'de000000-0000-4000-8000-000000000001', 'old-sunset.jpg', 'https://cdn.example.com/d/old.jpg', 1024000, 'image/jpeg', now() - interval '1 day', true)
    ON CONFLICT DO NOTHING;

    -- Demo API key rows. Their secrets are the published strings below, hashed like
    -- real keys: 'vc_test_demo0001_' || repeat('a', 43) and the revoked ...demo0002... one.
    INSERT INTO vibecraft.api_keys (id, user_id, organization_id, name, key_prefix, key_hash, scopes, expires_at, revoked_at, is_active) VALUES
        ('e1000000-0000-4000-8000-000000000001', u_admin, org_demo, 'Demo backend', 'vc_test_demo0001',
         sha256(convert_to('vc_test_demo0001_' || repeat('a', 43), 'UTF8')), '{prompts:read,prompts:write}', now() + interval '90 days', NULL, true),
        ('e1000000-0000-4000-8000-000000000002', u_ent, org_ent, 'Old integration', 'vc_test_demo0002',
         sha256(convert_to('vc_test_demo0002_' || repeat('b', 43), 'UTF8')), '{canvases:read}', NULL, now() - interval '3 days', false)
    ON CONFLICT DO NOTHING;

    -- A provider key, encrypted like any other, when a keyring is configured.
    IF (vibecraft.health_check()->>'keyring_configured')::boolean THEN
        INSERT INTO vibecraft.api_configurations (id, user_id, provider, api_key_encrypted, key_hint, is_validated, last_validated_at)
        VALUES ('ec000000-0000-4000-8000-000000000001', u_member, 'openai',
                vibecraft.encrypt_api_key('sk-proj-demoDemoDemoDemoDemo1234', vibecraft.provider_key_binding(u_member, 'openai')),
                '1234', true, now())
        ON CONFLICT DO NOTHING;
    END IF;

    INSERT INTO vibecraft.api_usage_logs (id, user_id, project_id, api_key_id, provider, model, endpoint, prompt_tokens, completion_tokens, cost_usd, response_time_ms, status_code, error_message) VALUES
        ('e2000000-0000-4000-8000-000000000001', u_admin, p_studio, 'e1000000-0000-4000-8000-000000000001', 'openai', 'gpt-4o-mini', '/chat/completions', 300, 120, 0.000630, 900, 200, NULL),
        ('e2000000-0000-4000-8000-000000000002', u_manager, p_studio, NULL, 'anthropic', 'claude-sonnet-4', '/messages', 500, 380, 0.013200, 2100, 200, NULL),
        ('e2000000-0000-4000-8000-000000000003', u_member, p_podcast, NULL, 'openai', 'gpt-4o-mini', '/chat/completions', 450, 200, 0.000975, 1200, 200, NULL),
        ('e2000000-0000-4000-8000-000000000004', u_member, NULL, NULL, 'groq', 'llama-3.3-70b-versatile', '/chat/completions', 100, 0, 0, 30000, 429, 'rate limited')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.user_activity (id, user_id, project_id, activity_type, description, ip_address) VALUES
        ('e3000000-0000-4000-8000-000000000001', u_admin, p_studio, 'project_created', 'Created Prompt Studio', '203.0.113.10'),
        ('e3000000-0000-4000-8000-000000000002', u_member, p_podcast, 'audio_uploaded', 'Uploaded episode-1.webm', '203.0.113.12'),
        ('e3000000-0000-4000-8000-000000000003', u_member, NULL, 'prompt_generated', 'Generated podcast names', '203.0.113.12')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.feedback (id, user_id, category_id, message, feedback_type, priority, status, rating, contact_email) VALUES
        ('e4000000-0000-4000-8000-000000000001', u_member, md5('vibecraft.feedback_categories:feature_request')::uuid,
         'Please add dark mode to the canvas', 'feature', 'medium', 'open', 4, 'member@demo-org.com'),
        ('e4000000-0000-4000-8000-000000000002', u_manager, md5('vibecraft.feedback_categories:bug')::uuid,
         'Export to PDF cuts the last page', 'bug', 'high', 'resolved', 5, NULL)
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.feedback_tags (feedback_id, tag) VALUES
        ('e4000000-0000-4000-8000-000000000001', 'canvas'), ('e4000000-0000-4000-8000-000000000002', 'export')
    ON CONFLICT (feedback_id, tag) DO NOTHING;
    INSERT INTO vibecraft.feedback_analytics (period_date, feedback_type, total_count, resolved_count, average_rating) VALUES
        (current_date - 1, 'bug', 1, 1, 5), (current_date - 1, 'feature', 1, 0, 4)
    ON CONFLICT (period_date, feedback_type) DO NOTHING;

    INSERT INTO vibecraft.saved_searches (id, user_id, name, search_query, filters, is_public) VALUES
        ('e5000000-0000-4000-8000-000000000001', u_member, 'Sunsets', 'sunset', '{"type": "image", "orientation": "landscape"}', true),
        ('e5000000-0000-4000-8000-000000000002', u_manager, 'My logos', 'logo', '{"type": "vector"}', false)
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.admin_logs (id, admin_user_id, action, target_type, target_id, details, ip_address) VALUES
        ('e6000000-0000-4000-8000-000000000001', u_admin, 'user_updated', 'user', u_start, '{"changes": {"status": "INVITED"}}', '203.0.113.10')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.error_logs (id, user_id, project_id, error_type, message, severity, url, context) VALUES
        ('e7000000-0000-4000-8000-000000000001', u_member, p_podcast, 'UploadError', 'File exceeds bucket size limit', 'warning', '/projects/podcast', '{"size": 209715200}')
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.performance_metrics (id, user_id, metric_name, metric_value, unit, tags) VALUES
        ('e8000000-0000-4000-8000-000000000001', NULL, 'query.get_user_stats', 1.8, 'ms', '{"source": "demo"}'),
        ('e8000000-0000-4000-8000-000000000002', u_member, 'page.load', 640, 'ms', '{"page": "/projects"}')
    ON CONFLICT DO NOTHING;

    INSERT INTO vibecraft.accounts (id, user_id, type, provider, provider_account_id, token_type, scope) VALUES
        ('e9000000-0000-4000-8000-000000000001', u_member, 'oauth', 'github', 'demo-1001', 'bearer', 'read:user user:email')
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.sessions (id, user_id, session_token, expires, ip_address, user_agent) VALUES
        ('ea000000-0000-4000-8000-000000000001', u_member, 'demo-session-token-0001', now() + interval '30 days', '203.0.113.12', 'Mozilla/5.0 (demo)')
    ON CONFLICT DO NOTHING;
    INSERT INTO vibecraft.verification_tokens (id, identifier, token, expires) VALUES
        ('eb000000-0000-4000-8000-000000000001', 'founder@startup-inc.com', 'demo-verify-0001', now() + interval '1 day')
    ON CONFLICT DO NOTHING;

    SELECT jsonb_object_agg(t.name, t.n ORDER BY t.name) INTO result FROM (VALUES
        ('organizations', (SELECT count(*) FROM vibecraft.organizations)),
        ('users', (SELECT count(*) FROM vibecraft.users)),
        ('agents', (SELECT count(*) FROM vibecraft.agents)),
        ('models', (SELECT count(*) FROM vibecraft.models)),
        ('canvases', (SELECT count(*) FROM vibecraft.canvases)),
        ('projects', (SELECT count(*) FROM vibecraft.projects)),
        ('prompts', (SELECT count(*) FROM vibecraft.prompt_history)),
        ('orders', (SELECT count(*) FROM vibecraft.orders)),
        ('api_keys', (SELECT count(*) FROM vibecraft.api_keys))) AS t(name, n);
    RETURN result;
END
$$;

COMMENT ON FUNCTION vibecraft.seed_demo_data() IS
    'Load the demo data set (3 organizations, 5 users, agents, canvases, projects, prompts, orders, ...). Idempotent. Development only: the demo API key secrets are published.';
