//! Supabase's conventions, where the database alone can follow them. (Tying
//! vibecraft.users to GoTrue's auth.users is SQL: sql/supabase/rules.sql.)
//!
//! Supabase keeps extensions in schema `extensions` and its linter flags any in `public`.
//! `CREATE EXTENSION vibecraft CASCADE` would create pg_trgm, which vibecraft requires, in
//! the first schema of the search_path, `public` on Supabase. So when pg_trgm is missing,
//! the statement names no schema, and a schema `extensions` exists, pg_trgm is created
//! there first, in the same transaction; vibecraft's script finds it through the
//! search_path PostgreSQL sets for it (the schemas of the required extensions).

use pgrx::{pg_sys, PgList, Spi};
use std::ffi::CStr;

/// Before `CREATE EXTENSION vibecraft CASCADE` runs (utility_hook.rs).
///
/// # Safety
/// `statement` must be the CreateExtensionStmt being run, inside a transaction.
pub unsafe fn place_pg_trgm(statement: *mut pg_sys::CreateExtensionStmt) {
    // SAFETY: the caller's promise; the options are a list of DefElem.
    unsafe {
        if CStr::from_ptr((*statement).extname).to_bytes() != b"vibecraft" {
            return;
        }
        let mut cascade = false;
        for option in PgList::<pg_sys::DefElem>::from_pg((*statement).options).iter_ptr() {
            match CStr::from_ptr((*option).defname).to_bytes() {
                b"cascade" => cascade = pg_sys::defGetBoolean(option),
                b"schema" => return, // the DBA chose where the required extensions go
                _ => {}
            }
        }
        if !cascade
            || pg_sys::get_extension_oid(c"pg_trgm".as_ptr(), true) != pg_sys::InvalidOid
            || pg_sys::get_namespace_oid(c"extensions".as_ptr(), true) == pg_sys::InvalidOid
        {
            return;
        }
    }
    // An error here (no right to create in `extensions`, say) ends the statement as
    // CREATE EXTENSION's own would, and the transaction undoes both.
    if let Err(e) = Spi::run("CREATE EXTENSION pg_trgm SCHEMA extensions") {
        crate::errors::internal(format!("vibecraft: creating pg_trgm in schema extensions failed: {e}"));
    }
    // SAFETY: inside the transaction the statement runs in.
    unsafe { pg_sys::CommandCounterIncrement() };
}
