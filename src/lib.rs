//! vibecraft: the data layer of an AI-product backend as one PostgreSQL extension.
//!
//! Each capability is a module named after it; its hand-written SQL lives in the room
//! of the same name under `sql/` and is pulled in below.

use pgrx::prelude::*;

mod api_keys;
mod background;
mod credits;
mod crypto;
mod errors;
mod health;
mod identity;
mod ids;
mod settings;
mod shared_memory;
mod storage;
mod orders;
mod owner_rights;
mod rate_limit;
mod realtime;
mod supabase;
mod table_locks;
mod triggers;
mod typescript;
mod utility_hook;

::pgrx::pg_module_magic!(name, version);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
    if settings::loaded_at_preload() {
        rate_limit::register();
        shared_memory::register();
        utility_hook::register();
    }
    triggers::audit::register_callbacks();
    identity::register_callbacks();
}

// The roles that grants and policies name, before anything else.
extension_sql_file!("../sql/roles.sql", name = "roles", bootstrap);
// One room per capability (sql/<room>/): tables.sql is created once, at install;
// rules.sql (functions, views, policies, triggers, grants, comments) is re-run by every
// upgrade. Each names what it really needs; pg_trgm comes from the control file.
extension_sql_file!("../sql/people/tables.sql", name = "people_tables");
extension_sql_file!(
    "../sql/people/rules.sql",
    name = "people_rules",
    requires = [
        "identity_rules",
        "people_tables",
        "credits_tables",
        identity::current_user_id,
        identity::is_service,
        identity::jwt_claims,
    ]
);
extension_sql_file!(
    "../sql/auth_backend/tables.sql",
    name = "auth_backend_tables",
    requires = [
        "people_tables",
    ]
);
extension_sql_file!(
    "../sql/auth_backend/rules.sql",
    name = "auth_backend_rules",
    requires = [
        "auth_backend_tables",
        "identity_rules",
        identity::is_service,
    ]
);
extension_sql_file!(
    "../sql/identity/rules.sql",
    name = "identity_rules",
    requires = [
        "people_tables",
        "projects_tables",
        identity::current_org_claim,
        identity::current_user_id,
        identity::is_service,
        identity::jwt::authenticate,
        identity::jwt_claims,
        identity::require_may_act_for_sql,
        identity::sign_out,
    ]
);
extension_sql_file!(
    "../sql/projects/tables.sql",
    name = "projects_tables",
    requires = [
        "people_tables",
        identity::current_user_id,
        ids::uuid_generate_v7,
    ]
);
extension_sql_file!(
    "../sql/projects/rules.sql",
    name = "projects_rules",
    requires = [
        "identity_rules",
        "projects_tables",
        identity::current_user_id,
        triggers::restoring_dump,
    ]
);
extension_sql_file!(
    "../sql/agents/tables.sql",
    name = "agents_tables",
    requires = [
        "people_tables",
        ids::uuid_generate_v7,
    ]
);
extension_sql_file!(
    "../sql/agents/rules.sql",
    name = "agents_rules",
    requires = [
        "agents_tables",
        "identity_rules",
        identity::current_user_id,
    ]
);
extension_sql_file!(
    "../sql/catalog/tables.sql",
    name = "catalog_tables",
    requires = [
        "people_tables",
    ]
);
extension_sql_file!(
    "../sql/catalog/rules.sql",
    name = "catalog_rules",
    requires = [
        "catalog_tables",
        "identity_rules",
        identity::is_service,
    ]
);
extension_sql_file!(
    "../sql/provider_keys/tables.sql",
    name = "provider_keys_tables",
    requires = [
        "catalog_tables",
        "people_tables",
    ]
);
extension_sql_file!(
    "../sql/provider_keys/rules.sql",
    name = "provider_keys_rules",
    requires = [
        "catalog_tables",
        "identity_rules",
        "provider_keys_tables",
        crypto::decrypt_api_key,
        crypto::encrypt_api_key,
        crypto::encryption_key_id,
        crypto::encryption_key_ids,
        identity::current_user_id,
        identity::is_service,
        identity::jwt::authenticate,
    ]
);
extension_sql_file!(
    "../sql/api_keys/tables.sql",
    name = "api_keys_tables",
    requires = [
        "people_tables",
    ]
);
extension_sql_file!(
    "../sql/api_keys/rules.sql",
    name = "api_keys_rules",
    requires = [
        "api_keys_tables",
        "identity_rules",
        api_keys::api_key_prefix,
        api_keys::authenticate_api_key,
        api_keys::flush_api_key_usage,
        api_keys::new_api_key_secret,
        api_keys::validate_api_key,
        identity::current_user_id,
        identity::is_service,
        identity::jwt::authenticate,
        identity::jwt_claims,
    ]
);
extension_sql_file!(
    "../sql/usage/tables.sql",
    name = "usage_tables",
    requires = [
        "api_keys_tables",
        "people_tables",
        "projects_tables",
        ids::uuid_generate_v7,
    ]
);
extension_sql_file!(
    "../sql/usage/rules.sql",
    name = "usage_rules",
    requires = [
        "catalog_tables",
        "identity_rules",
        "usage_tables",
        identity::current_user_id,
        identity::is_service,
    ]
);
extension_sql_file!(
    "../sql/credits/tables.sql",
    name = "credits_tables",
    requires = [
        "people_tables",
        ids::uuid_generate_v7,
    ]
);
extension_sql_file!(
    "../sql/credits/rules.sql",
    name = "credits_rules",
    requires = [
        "credits_tables",
        "identity_rules",
        triggers::restoring_dump,
        credits::add_credits,
        credits::deduct_credits,
        credits::get_user_credits,
    ]
);
extension_sql_file!(
    "../sql/orders/tables.sql",
    name = "orders_tables",
    requires = [
        "people_tables",
    ]
);
extension_sql_file!(
    "../sql/orders/rules.sql",
    name = "orders_rules",
    requires = [
        "identity_rules",
        "orders_tables",
        identity::current_user_id,
        identity::is_service,
        orders::create_order,
        orders::refund_order_credits,
    ]
);
extension_sql_file!(
    "../sql/rate_limit/tables.sql",
    name = "rate_limit_tables",
    requires = [
        "people_tables",
    ]
);
extension_sql_file!(
    "../sql/rate_limit/rules.sql",
    name = "rate_limit_rules",
    requires = [
        "identity_rules",
        "rate_limit_tables",
        rate_limit::check_api_key_rate_limit,
        rate_limit::check_provider_rate_limit,
        rate_limit::check_rate_limit,
        rate_limit::compact_rate_limits,
        rate_limit::rate_limit_state,
    ]
);
extension_sql_file!(
    "../sql/storage/tables.sql",
    name = "storage_tables",
    requires = [
        "people_tables",
        "projects_tables",
    ]
);
extension_sql_file!(
    "../sql/storage/rules.sql",
    name = "storage_rules",
    requires = [
        "identity_rules",
        "storage_tables",
        identity::is_service,
        storage::sign_url,
        storage::verify_signed_url,
    ]
);
extension_sql_file!(
    "../sql/feedback/tables.sql",
    name = "feedback_tables",
    requires = [
        "people_tables",
    ]
);
extension_sql_file!(
    "../sql/feedback/rules.sql",
    name = "feedback_rules",
    requires = [
        "feedback_tables",
        "identity_rules",
        identity::is_service,
    ]
);
extension_sql_file!(
    "../sql/audit/tables.sql",
    name = "audit_tables",
    requires = [
        ids::uuid_generate_v7,
    ]
);
extension_sql_file!(
    "../sql/audit/rules.sql",
    name = "audit_rules",
    requires = [
        "agents_tables",
        "api_keys_tables",
        "audit_tables",
        "identity_rules",
        "orders_tables",
        "people_tables",
        "projects_tables",
        "provider_keys_tables",
        "settings_tables",
        identity::current_user_id,
        identity::is_service,
        triggers::audit::audit_trigger,
    ]
);
extension_sql_file!(
    "../sql/logs/tables.sql",
    name = "logs_tables",
    requires = [
        "people_tables",
        "projects_tables",
        ids::uuid_generate_v7,
    ]
);
extension_sql_file!(
    "../sql/logs/rules.sql",
    name = "logs_rules",
    requires = [
        "identity_rules",
        "logs_tables",
        identity::current_user_id,
        identity::is_service,
    ]
);
extension_sql_file!("../sql/settings/tables.sql", name = "settings_tables");
extension_sql_file!(
    "../sql/settings/rules.sql",
    name = "settings_rules",
    requires = [
        "identity_rules",
        "settings_tables",
        identity::is_service,
    ]
);
extension_sql_file!(
    "../sql/stats/tables.sql",
    name = "stats_tables",
    requires = [
        "people_tables",
        "projects_tables",
        "usage_tables",
    ]
);
extension_sql_file!(
    "../sql/stats/rules.sql",
    name = "stats_rules",
    requires = [
        "api_keys_tables",
        "credits_tables",
        "identity_rules",
        "logs_tables",
        "orders_tables",
        "people_tables",
        "projects_tables",
        "stats_tables",
        "usage_tables",
        identity::is_service,
        identity::require_may_act_for_sql,
        triggers::restoring_dump,
    ]
);
extension_sql_file!(
    "../sql/integrity/rules.sql",
    name = "integrity_rules",
    requires = [
        "api_keys_tables",
        "credits_tables",
        "identity_rules",
        "orders_rules",
        "orders_tables",
        "people_tables",
        "projects_tables",
        "provider_keys_rules",
        "provider_keys_tables",
        "stats_rules",
        "stats_tables",
        "usage_tables",
        crypto::encryption_key_id,
        crypto::encryption_key_ids,
        orders::refund_order_credits,
    ]
);
// The Citus plan and its check against the catalog (docs/scale-out.md): after every
// table, since the check reads them all.
extension_sql_file!(
    "../sql/scale/rules.sql",
    name = "scale_rules",
    requires = [
        "agents_tables",
        "api_keys_tables",
        "audit_tables",
        "auth_backend_tables",
        "catalog_tables",
        "credits_tables",
        "feedback_tables",
        "logs_tables",
        "orders_tables",
        "people_tables",
        "projects_tables",
        "provider_keys_tables",
        "rate_limit_tables",
        "settings_tables",
        "stats_tables",
        "storage_tables",
        "usage_tables",
        triggers::audit::audit_trigger,
    ]
);
extension_sql_file!(
    "../sql/maintenance/rules.sql",
    name = "maintenance_rules",
    requires = [
        "api_keys_tables",
        "audit_tables",
        "auth_backend_tables",
        "identity_rules",
        "logs_tables",
        "orders_rules",
        "orders_tables",
        "people_tables",
        "projects_tables",
        "settings_tables",
        api_keys::flush_api_key_usage,
        background::vacuum_in_background,
        identity::current_user_id,
        identity::is_service,
        rate_limit::compact_rate_limits,
    ]
);
extension_sql_file!(
    "../sql/realtime/rules.sql",
    name = "realtime_rules",
    requires = [
        realtime::realtime_signature,
        realtime::realtime_signature_matches,
        triggers::audit::secret_column_names,
    ]
);
extension_sql_file!(
    "../sql/supabase/rules.sql",
    name = "supabase_rules",
    requires = ["people_tables", "people_rules"]
);
extension_sql_file!(
    "../sql/demo/rules.sql",
    name = "demo_rules",
    requires = [
        "agents_tables",
        "api_keys_tables",
        "audit_tables",
        "auth_backend_tables",
        "catalog_tables",
        "credits_tables",
        "feedback_tables",
        "logs_tables",
        "orders_tables",
        "people_tables",
        "projects_tables",
        "provider_keys_rules",
        "provider_keys_tables",
        "storage_tables",
        "usage_tables",
        crypto::encrypt_api_key,
        health::health_check,
    ]
);
// Rules every table follows (RLS on, updated_at, pg_dump) and the schema's privileges,
// once every room's objects exist.
extension_sql_file!("../sql/schema/rules.sql", name = "schema_rules", finalize);

/// Hooks for `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'vibecraft'"]
    }
}
