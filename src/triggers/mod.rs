//! Native trigger functions: `set_updated_at` and the audit trail, and how every trigger
//! that derives rows knows that a dump is being loaded.

use pgrx::prelude::*;
use pgrx::PgTupleDesc;

pub mod audit;
pub mod public_writes;
pub mod updated_at;

/// The columns of a tuple descriptor that PostgreSQL owns (a firing trigger's relation),
/// read through pgrx's version-independent API: PostgreSQL 18 changed how a descriptor
/// holds its attributes, and every trigger here reads them through this one door.
///
/// # Safety
/// `descriptor` must stay valid while the result is used; it is not released on drop.
pub(crate) unsafe fn columns_of<'a>(descriptor: pg_sys::TupleDesc) -> PgTupleDesc<'a> {
    // SAFETY: the caller's promise; from_pg_unchecked neither copies nor releases it.
    unsafe { PgTupleDesc::from_pg_unchecked(descriptor) }
}

/// `vibecraft.restoring_dump()`: whether this session is loading a dump. pg_dump's and
/// pg_restore's scripts run with `row_security = off`, under which a write to any of
/// vibecraft's tables (all of them force row-level security) fails for a role that does
/// not bypass it; so only a superuser or BYPASSRLS session user is ever in that state, and
/// no one else can fake it (the session user, not the current one, is asked: a function
/// acting with the owner's rights does not count). Triggers that derive rows (the owner's
/// membership, statistics totals, the audit trail) stay quiet then, because the dump holds
/// those rows already.
#[pg_extern(stable, parallel_safe)]
pub fn restoring_dump() -> bool {
    // SAFETY: a read of the setting's variable (the audit trail asks on every row, so no
    // lookup by name), then catalog checks of a role id.
    unsafe {
        if pg_sys::row_security {
            return false;
        }
        let session_user = pg_sys::GetSessionUserId();
        pg_sys::superuser_arg(session_user) || pg_sys::has_bypassrls_privilege(session_user)
    }
}
