//! vibecraft's one ProcessUtility hook: the utility statements it has a rule for are
//! looked at before PostgreSQL runs them, everything else passes straight through.
//! * `LOCK TABLE` of a vibecraft relation in a strong mode (table_locks.rs);
//! * `CREATE EXTENSION vibecraft CASCADE`, which places pg_trgm (supabase.rs).
//!
//! Installed from _PG_init when vibecraft is in shared_preload_libraries.

use pgrx::pg_sys;
use std::ffi::c_char;

static mut PREVIOUS: pg_sys::ProcessUtility_hook_type = None;

/// Called from _PG_init when loaded through shared_preload_libraries.
pub fn register() {
    // SAFETY: _PG_init runs once per process before any statement.
    unsafe {
        PREVIOUS = pg_sys::ProcessUtility_hook;
        pg_sys::ProcessUtility_hook = Some(before_utility_statement);
    }
}

#[pgrx::pg_guard]
#[allow(clippy::too_many_arguments)]
unsafe extern "C-unwind" fn before_utility_statement(
    planned: *mut pg_sys::PlannedStmt,
    query: *const c_char,
    read_only_tree: bool,
    context: pg_sys::ProcessUtilityContext::Type,
    params: pg_sys::ParamListInfo,
    environment: *mut pg_sys::QueryEnvironment,
    destination: *mut pg_sys::DestReceiver,
    completion: *mut pg_sys::QueryCompletion,
) {
    // SAFETY: PostgreSQL hands the hook a valid planned utility statement.
    unsafe {
        let statement = (*planned).utilityStmt;
        if !statement.is_null() {
            match (*statement).type_ {
                pg_sys::NodeTag::T_LockStmt => crate::table_locks::check_lock(statement.cast()),
                pg_sys::NodeTag::T_CreateExtensionStmt => crate::supabase::place_pg_trgm(statement.cast()),
                _ => {}
            }
        }
        match PREVIOUS {
            Some(previous) => previous(planned, query, read_only_tree, context, params, environment, destination, completion),
            None => pg_sys::standard_ProcessUtility(planned, query, read_only_tree, context, params, environment, destination, completion),
        }
    }
}
