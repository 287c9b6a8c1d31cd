//! vibecraft: the data layer of an AI-product backend as one PostgreSQL extension.
//!
//! Each capability is a module named after it; its hand-written SQL lives in `sql/`
//! and is pulled in below, in dependency order.

use pgrx::prelude::*;

mod api_keys;
mod credits;
mod crypto;
mod errors;
mod health;
mod identity;
mod ids;
mod settings;
mod storage;
mod orders;
mod owner_rights;
mod rate_limit;
mod triggers;
mod typescript;

::pgrx::pg_module_magic!(name, version);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
    if settings::loaded_at_preload() {
        rate_limit::register();
    }
    triggers::audit::register_callbacks();
    identity::register_callbacks();
}

// The roles that grants and policies name, before anything else.
extension_sql_file!("../sql/roles.sql", name = "roles", bootstrap);
// The schema, in dependency order. pg_trgm comes from the control file's `requires`.
extension_sql_file!("../sql/tables_people.sql", name = "tables_people");
extension_sql_file!(
    "../sql/tables_work.sql",
    name = "tables_work",
    requires = ["tables_people", ids::uuid_generate_v7]
);
extension_sql_file!("../sql/tables_ai.sql", name = "tables_ai", requires = ["tables_work"]);
extension_sql_file!("../sql/tables_commerce.sql", name = "tables_commerce", requires = ["tables_ai"]);
extension_sql_file!("../sql/tables_ops.sql", name = "tables_ops", requires = ["tables_commerce"]);
extension_sql_file!("../sql/views_compat.sql", name = "views_compat", requires = ["tables_ops"]);
extension_sql_file!(
    "../sql/views_dashboards.sql",
    name = "views_dashboards",
    requires = ["views_compat"]
);
extension_sql_file!(
    "../sql/table_rules.sql",
    name = "table_rules",
    requires = ["views_dashboards", triggers::updated_at::set_updated_at]
);
extension_sql_file!("../sql/reference_data.sql", name = "reference_data", requires = ["table_rules"]);
extension_sql_file!(
    "../sql/audit.sql",
    name = "audit",
    requires = ["reference_data", triggers::audit::audit_trigger]
);
extension_sql_file!(
    "../sql/identity.sql",
    name = "identity",
    requires = [
        "audit",
        identity::current_user_id,
        identity::current_org_claim,
        identity::is_service,
        identity::jwt_claims,
        identity::sign_out,
        identity::require_may_act_for_sql,
        identity::jwt::authenticate
    ]
);
extension_sql_file!("../sql/policies.sql", name = "policies", requires = ["identity"]);
extension_sql_file!(
    "../sql/secrets.sql",
    name = "secrets",
    requires = [
        "policies",
        crypto::encrypt_api_key,
        crypto::decrypt_api_key,
        crypto::encryption_key_id,
        crypto::encryption_key_ids,
        api_keys::new_api_key_secret,
        api_keys::api_key_prefix,
        api_keys::validate_api_key,
        api_keys::authenticate_api_key,
        api_keys::flush_api_key_usage
    ]
);
extension_sql_file!(
    "../sql/credits.sql",
    name = "credits",
    requires = ["secrets", credits::deduct_credits, credits::add_credits, credits::get_user_credits]
);
extension_sql_file!(
    "../sql/orders.sql",
    name = "orders",
    requires = ["credits", orders::create_order, orders::refund_order_credits]
);
extension_sql_file!(
    "../sql/rate_limit.sql",
    name = "rate_limit",
    requires = [
        "orders",
        rate_limit::check_rate_limit,
        rate_limit::check_api_key_rate_limit,
        rate_limit::check_provider_rate_limit,
        rate_limit::compact_rate_limits,
        rate_limit::rate_limit_state
    ]
);
extension_sql_file!("../sql/usage.sql", name = "usage", requires = ["rate_limit"]);
extension_sql_file!("../sql/stats.sql", name = "stats", requires = ["usage"]);
extension_sql_file!("../sql/integrity.sql", name = "integrity", requires = ["stats"]);
extension_sql_file!("../sql/maintenance.sql", name = "maintenance", requires = ["integrity"]);
extension_sql_file!(
    "../sql/realtime.sql",
    name = "realtime",
    requires = ["maintenance", triggers::audit::secret_column_names]
);
extension_sql_file!(
    "../sql/storage.sql",
    name = "storage",
    requires = ["realtime", storage::sign_url, storage::verify_signed_url]
);
extension_sql_file!("../sql/comments.sql", name = "comments", requires = ["storage"]);
extension_sql_file!("../sql/demo_data.sql", name = "demo_data", requires = ["comments"]);
// Grants come last, once every object exists.
extension_sql_file!("../sql/grants.sql", name = "grants", finalize);

/// Hooks for `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'vibecraft'"]
    }
}
