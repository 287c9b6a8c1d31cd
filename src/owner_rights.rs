//! Acting with a table owner's rights from inside Rust, for the paths where a
//! SECURITY DEFINER function costs too much or cannot be used (triggers, hot paths).
//!
//! A SECURITY DEFINER function with `SET search_path` makes PostgreSQL set and restore a
//! setting on every call and work out the search path again twice; on `deduct_credits`
//! that measured as a few percent of the whole call. Here the switch is only
//! `SetUserIdAndSecContext`, as PostgreSQL's own `fmgr_security_definer` does it, and
//! PostgreSQL restores the user at (sub)transaction abort, so an error cannot leave the
//! session switched.
//!
//! The price is that statements run under the caller's `search_path`. So every statement
//! run with an owner's rights must be search_path-proof: tables and functions
//! schema-qualified, types written `pg_catalog.x`, operators `OPERATOR(pg_catalog.x)`.
//! A caller who puts a schema of its own first can then not substitute an operator,
//! function or type that would run with the owner's rights; `tests/tests/search_path.rs`
//! tries exactly that against every statement run this way.

use crate::errors::raise;
use pgrx::{pg_sys, PgSqlErrorCode};
use std::ffi::CStr;

/// The owner of `schema.table`, from the system caches (no query).
pub fn owner_of(schema: &CStr, table: &CStr) -> pg_sys::Oid {
    // SAFETY: catalog cache lookups by name and by OID; the tuple is released before return.
    let owner = unsafe {
        let namespace = pg_sys::get_namespace_oid(schema.as_ptr(), true);
        let relid = if namespace == pg_sys::InvalidOid {
            pg_sys::InvalidOid
        } else {
            pg_sys::get_relname_relid(table.as_ptr(), namespace)
        };
        let tuple = if relid == pg_sys::InvalidOid {
            std::ptr::null_mut()
        } else {
            pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::RELOID as i32, pg_sys::Datum::from(relid))
        };
        if tuple.is_null() {
            None
        } else {
            let owner = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_class>(tuple)).relowner;
            pg_sys::ReleaseSysCache(tuple);
            Some(owner)
        }
    };
    owner.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("vibecraft: table {}.{} does not exist", schema.to_string_lossy(), table.to_string_lossy()),
            Some("Is the vibecraft extension installed in this database?"),
        )
    })
}

/// Run `f` with the rights of `owner`; only search_path-proof statements inside (see above).
pub fn with_rights_of<T>(owner: pg_sys::Oid, f: impl FnOnce() -> T) -> T {
    let mut user = pg_sys::InvalidOid;
    let mut context = 0;
    // SAFETY: a read and a switch of the current user id. SECURITY_LOCAL_USERID_CHANGE
    // forbids SET ROLE inside, as for SECURITY DEFINER; PostgreSQL restores the user at
    // (sub)transaction abort, and we restore it when `f` returns.
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(owner, context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
    }
    let result = f();
    unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
    result
}
