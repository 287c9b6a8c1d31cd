-- Privileges. Runs last, once every vibecraft object exists. The roles come from roles.sql.
COMMENT ON SCHEMA vibecraft IS
    'vibecraft: schema, business rules and security helpers of an AI-product backend';

-- PUBLIC gets nothing: every function is granted to the vibecraft roles by name.
REVOKE ALL ON SCHEMA vibecraft FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA vibecraft FROM PUBLIC;
GRANT USAGE ON SCHEMA vibecraft TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;

GRANT EXECUTE ON FUNCTION vibecraft.version() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.health_check() TO vibecraft_service;

-- Identity and the helpers policies call: everyone who can reach a table must be able
-- to evaluate its policies.
GRANT EXECUTE ON FUNCTION
    vibecraft.authenticate(text), vibecraft.sign_out(), vibecraft.current_user_id(),
    vibecraft.current_org_id(), vibecraft.current_org_claim(), vibecraft.jwt_claims(),
    vibecraft.is_admin(), vibecraft.is_service(), vibecraft.has_project_role(uuid, text),
    vibecraft.has_org_role(uuid, text), vibecraft.project_ids_with_role(text),
    vibecraft.org_ids_with_role(text), vibecraft.owner_scope_low(), vibecraft.owner_scope_high(),
    vibecraft.project_role_rank(text), vibecraft.org_role_rank(text), vibecraft.raise_invalid_parameter(text, text, text),
    vibecraft.order_status_transition_allowed(text, text), vibecraft.uuid_generate_v7()
  TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.audit_history(regclass, text) TO vibecraft_service;

-- Secrets. Anyone may present an API key (validation is how a key becomes an identity);
-- signed-in users manage their own keys; plaintext only ever goes to the service role.
GRANT EXECUTE ON FUNCTION vibecraft.validate_api_key(text, text), vibecraft.authenticate_api_key(text),
    vibecraft.api_key_prefix(text), vibecraft.encryption_key_id(text)
  TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.save_provider_key(text, text), vibecraft.provider_key(text, uuid),
    vibecraft.create_api_key(text, text[], timestamptz, uuid), vibecraft.revoke_api_key(uuid),
    vibecraft.flush_api_key_usage()
  TO vibecraft_authenticated, vibecraft_service;
-- Credits: the functions check who may act for whom.
GRANT EXECUTE ON FUNCTION vibecraft.deduct_credits(uuid, integer, text, text), vibecraft.add_credits(uuid, integer, text, text),
    vibecraft.get_user_credits(uuid)
  TO vibecraft_authenticated, vibecraft_service;
-- Orders and rate limits: the functions check who may act for whom.
GRANT EXECUTE ON FUNCTION vibecraft.create_order(uuid, text, integer, jsonb, numeric, jsonb),
    vibecraft.cancel_order(uuid), vibecraft.refund_order_credits(uuid), vibecraft.refund_payment(uuid, numeric),
    vibecraft.record_download(uuid),
    vibecraft.check_rate_limit(uuid, text, integer, interval), vibecraft.check_api_key_rate_limit(uuid),
    vibecraft.check_provider_rate_limit(text, uuid)
  TO vibecraft_authenticated, vibecraft_service;
-- Signed URLs: anyone may check one; signing needs an object the caller can read.
GRANT EXECUTE ON FUNCTION vibecraft.verify_signed_url(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.sign_url(text, text, interval) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.cleanup_expired_downloads(), vibecraft.compact_rate_limits(),
    vibecraft.rate_limit_state()
  TO vibecraft_service;
-- Statistics, integrity and upkeep: each function checks who is asking.
GRANT EXECUTE ON FUNCTION vibecraft.get_user_stats(uuid), vibecraft.recount_user_stats(uuid),
    vibecraft.get_user_activity_summary(uuid, integer), vibecraft.get_system_stats(),
    vibecraft.validate_system_integrity(), vibecraft.daily_maintenance(),
    vibecraft.archive_old_admin_logs(interval), vibecraft.get_database_stats()
  TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.rebuild_stat_totals(), vibecraft.schedule_maintenance(text)
  TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.log_api_usage(text, text, integer, integer, numeric, integer, integer, text, uuid, text, uuid)
  TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.encrypt_api_key(text, text), vibecraft.decrypt_api_key(text, text),
    vibecraft.encryption_key_ids(), vibecraft.rotate_encryption_key(), vibecraft.provider_key_binding(uuid, text)
  TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.enable_audit(regclass, text[]), vibecraft.disable_audit(regclass),
    vibecraft.enable_realtime(regclass), vibecraft.disable_realtime(regclass)
  TO vibecraft_service;
-- Types for application code: they describe the catalog, which every role can read anyway.
GRANT EXECUTE ON FUNCTION vibecraft.typescript_types() TO vibecraft_authenticated, vibecraft_service;

-- Tables. RLS decides which rows; these grants decide which statements.
-- anon: reference data, public rows, and sending feedback or error reports.
GRANT SELECT ON vibecraft.ai_providers, vibecraft.api_providers, vibecraft.prompt_frameworks,
    vibecraft.feedback_categories, vibecraft.storage_buckets, vibecraft.system_settings,
    vibecraft.system_config, vibecraft.prompt_templates, vibecraft.templates,
    vibecraft.saved_searches, vibecraft.projects
  TO vibecraft_anon;
GRANT INSERT ON vibecraft.feedback, vibecraft.error_logs TO vibecraft_anon;

-- authenticated: every statement on every table and seed-name view, with these
-- exceptions: money and trails are read-only (they change through vibecraft's
-- functions), verification tokens belong to the auth backend, and users may update
-- only the columns of their own profile.
DO $grants$
DECLARE
    r regclass;
BEGIN
    FOR r IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v')
                AND c.relname NOT IN ('credit_ledger', 'payments', 'audit_logs', 'admin_logs',
                                      'feedback_analytics', 'verification_tokens', 'users',
                                      'user_profiles', 'admin_dashboard', 'user_dashboard',
                                      'user_stat_totals', 'user_provider_totals',
                                      'admin_logs_archive', 'audit_logs_archive') LOOP
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO vibecraft_authenticated', r);
    END LOOP;
END
$grants$;
GRANT SELECT ON vibecraft.credit_ledger, vibecraft.payments, vibecraft.audit_logs, vibecraft.admin_logs,
    vibecraft.feedback_analytics, vibecraft.admin_dashboard, vibecraft.user_dashboard,
    vibecraft.user_stat_totals, vibecraft.user_provider_totals,
    vibecraft.admin_logs_archive, vibecraft.audit_logs_archive
  TO vibecraft_authenticated;
GRANT INSERT ON vibecraft.admin_logs TO vibecraft_authenticated;
GRANT UPDATE ON vibecraft.payments, vibecraft.feedback_analytics TO vibecraft_authenticated;
GRANT SELECT, INSERT, DELETE ON vibecraft.users, vibecraft.user_profiles TO vibecraft_authenticated;
GRANT UPDATE (email, name, full_name, display_name, image, avatar_url, bio,
              preferences, metadata, last_login_at, last_activity_at, deleted_at)
  ON vibecraft.users TO vibecraft_authenticated;
GRANT UPDATE (email, full_name, display_name, avatar_url, bio, preferences, metadata, last_login_at, deleted_at)
  ON vibecraft.user_profiles TO vibecraft_authenticated;

-- service: everything, including the analytics materialized views (which have no RLS).
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA vibecraft TO vibecraft_service;

COMMENT ON FUNCTION vibecraft.version() IS
    'The vibecraft library version and build profile, e.g. ''0.1.0 (release)''.';
COMMENT ON FUNCTION vibecraft.health_check() IS
    'What a DBA checks first: installed vs available extension version, server version, whether the JWT secret and keyring are configured (never their values), and whether vibecraft is in shared_preload_libraries.';
COMMENT ON FUNCTION vibecraft.typescript_types() IS
    'TypeScript types of schema vibecraft, from the live catalog: Row/Insert/Update/Relationships per table and view, Args/Returns per function the vibecraft roles may call, and Enums from CHECK (col IN (...)) lists; Supabase''s Database shape. Save the result as a .ts file after each install or upgrade.';
