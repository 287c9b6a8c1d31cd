//! Table locks one tenant may not take: `LOCK TABLE` on a vibecraft table or view in a
//! mode stronger than ROW EXCLUSIVE is the owner's (and superusers') alone.
//!
//! PostgreSQL lets a role that holds UPDATE or DELETE on a whole table take any lock
//! on it, ACCESS EXCLUSIVE included. Users of a shared schema hold DELETE on their
//! own rows' tables, so without this one signed-in user could stall every other user,
//! the service role included, for as long as it keeps its transaction going: no
//! statement, lock or idle timeout ends a transaction that keeps sending statements.
//! The modes up to ROW EXCLUSIVE are what ordinary reads and writes take anyway.
//!
//! LOCK TABLE of a view locks the relations under it in the same mode, so a view of
//! anyone's (a temporary one included) that reaches a vibecraft relation counts as one.
//!
//! Checked in the ProcessUtility hook (utility_hook.rs), so it needs vibecraft in
//! shared_preload_libraries, as the rate limiter does.

use crate::errors::raise;
use pgrx::pg_sys;
use pgrx::{PgList, PgSqlErrorCode, Spi};
use std::ffi::CStr;

fn owns(relation: pg_sys::Oid, role: pg_sys::Oid) -> bool {
    // SAFETY: catalog lookups inside a transaction.
    unsafe {
        #[cfg(feature = "pg15")]
        {
            pg_sys::pg_class_ownercheck(relation, role)
        }
        #[cfg(not(feature = "pg15"))]
        {
            pg_sys::object_ownercheck(pg_sys::RelationRelationId, relation, role)
        }
    }
}

/// The mode as LOCK TABLE spells it (lockdefs.h numbers them 1 to 8).
fn mode_name(mode: i32) -> &'static str {
    match mode {
        1 => "ACCESS SHARE",
        2 => "ROW SHARE",
        3 => "ROW EXCLUSIVE",
        4 => "SHARE UPDATE EXCLUSIVE",
        5 => "SHARE",
        6 => "SHARE ROW EXCLUSIVE",
        7 => "EXCLUSIVE",
        _ => "ACCESS EXCLUSIVE",
    }
}

/// The vibecraft relation a view reaches, through any depth of views, that the role does
/// not own. Search_path-proof: it runs as the caller, who must not be able to make it
/// answer "none" by shadowing an operator.
fn vibecraft_relation_under_view(view: pg_sys::Oid) -> Option<String> {
    Spi::get_one_with_args::<String>(
        "WITH RECURSIVE under(oid) AS (
             SELECT $1::pg_catalog.oid
             UNION
             SELECT d.refobjid FROM under u
               JOIN pg_catalog.pg_rewrite w ON w.ev_class OPERATOR(pg_catalog.=) u.oid
               JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                AND d.objid OPERATOR(pg_catalog.=) w.oid
                AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass)
         SELECT c.relname::pg_catalog.text FROM under u JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) u.oid
          WHERE c.relnamespace OPERATOR(pg_catalog.=) 'vibecraft'::pg_catalog.regnamespace
            AND NOT pg_catalog.pg_has_role(c.relowner, 'USAGE')
          LIMIT 1",
        &[view.into()],
    )
    .ok()
    .flatten()
}

/// Refuse the statement when it is a LOCK of a vibecraft relation, in a mode above ROW
/// EXCLUSIVE, by a role that does not own the relation.
pub unsafe fn check_lock(statement: *mut pg_sys::LockStmt) {
    // SAFETY: called by the hook with a valid LockStmt, inside a transaction.
    unsafe {
        if (*statement).mode <= pg_sys::RowExclusiveLock as i32 {
            return;
        }
        let schema = pg_sys::get_namespace_oid(c"vibecraft".as_ptr(), true);
        if schema == pg_sys::InvalidOid {
            return;
        }
        let role = pg_sys::GetUserId();
        for range in PgList::<pg_sys::RangeVar>::from_pg((*statement).relations).iter_ptr() {
            let relation = pg_sys::RangeVarGetRelidExtended(range, pg_sys::NoLock as i32, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
            if relation == pg_sys::InvalidOid || pg_sys::superuser() {
                continue;
            }
            let name = if pg_sys::get_rel_namespace(relation) == schema && !owns(relation, role) {
                CStr::from_ptr(pg_sys::get_rel_name(relation)).to_string_lossy().into_owned()
            } else if pg_sys::get_rel_relkind(relation) == pg_sys::RELKIND_VIEW as std::ffi::c_char {
                match vibecraft_relation_under_view(relation) {
                    Some(name) => name,
                    None => continue,
                }
            } else {
                continue;
            };
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("vibecraft: LOCK TABLE vibecraft.{name} IN {} MODE is reserved for the table's owner", mode_name((*statement).mode)),
                Some("Ordinary reads and writes, SELECT ... FOR UPDATE and LOCK ... IN ROW EXCLUSIVE MODE need no stronger lock; a stronger one would stall every other user."),
            );
        }
    }
}
