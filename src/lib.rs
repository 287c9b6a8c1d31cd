//! vibecraft: the data layer of an AI-product backend as one PostgreSQL extension.
//!
//! Each capability is a module named after it; its hand-written SQL lives in `sql/`
//! and is pulled in below in dependency order.

use pgrx::prelude::*;

mod health;
mod settings;

::pgrx::pg_module_magic!(name, version);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
}

// Order of the hand-written SQL: roles and grants come last, once every object exists.
extension_sql_file!("../sql/roles_and_grants.sql", name = "roles_and_grants", finalize);

/// Hooks for `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'vibecraft'"]
    }
}
