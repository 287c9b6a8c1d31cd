//! `vibecraft.guard_public_write()`: BEFORE INSERT OR UPDATE row trigger on every table
//! that the anonymous or signed-in roles may write (sql/schema/rules.sql attaches it).
//!
//! * A row written by a caller other than the service role may hold at most
//!   `vibecraft.max_row_bytes` (signed in) or `vibecraft.max_anonymous_row_bytes`
//!   (nobody signed in) bytes, so nobody fills the disk with one 100 MB comment.
//! * Anonymous inserts are rate limited per table, all anonymous callers together, by
//!   the rule `anon_insert:<table>` in `vibecraft.rate_limit_rules` (no rule: no limit).
//!   They have no identity to tell them apart; the price is that one flood uses up the
//!   minute's budget of a table for every anonymous caller, and nobody else's.
//!
//! A row's size is what its values hold once unpacked: a value copied from another row
//! arrives as a pointer to its stored (TOASTed, perhaps compressed) data, so the tuple's
//! own length would not tell. The service role, superusers and a dump being restored are
//! not held to either limit; vibecraft's own functions are, for the caller they act for
//! (the session's role decides, not the owner's rights they run with).

use crate::errors::raise;
use crate::{identity, rate_limit, settings};
use pgrx::prelude::*;
use pgrx::pg_sys;

/// The bytes a row's values hold unpacked: for every variable-length value its raw size
/// (what decompressing and de-TOASTing give), for the others their fixed length.
unsafe fn unpacked_size(row: pg_sys::HeapTuple, descriptor: pg_sys::TupleDesc) -> i64 {
    // SAFETY: a valid tuple and its relation's descriptor, while the trigger fires.
    unsafe {
        let attributes = super::columns_of(descriptor);
        let natts = attributes.len();
        let mut values = vec![pg_sys::Datum::from(0); natts];
        let mut nulls = vec![false; natts];
        pg_sys::heap_deform_tuple(row, descriptor, values.as_mut_ptr(), nulls.as_mut_ptr());
        let mut bytes = size_of::<pg_sys::HeapTupleHeaderData>() as i64;
        for (i, attribute) in attributes.iter().enumerate() {
            if nulls[i] || attribute.attisdropped {
                continue;
            }
            bytes += match attribute.attlen {
                -1 => pg_sys::toast_raw_datum_size(values[i]) as i64,
                -2 => std::ffi::CStr::from_ptr(values[i].cast_mut_ptr()).to_bytes().len() as i64 + 1,
                fixed => fixed as i64,
            };
        }
        bytes
    }
}

#[pg_trigger]
fn guard_public_write<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, PgTriggerError> {
    let data = trigger.trigger_data();
    let event = data.tg_event;
    let is_row_before = event & pg_sys::TRIGGER_EVENT_ROW != 0
        && event & pg_sys::TRIGGER_EVENT_TIMINGMASK == pg_sys::TRIGGER_EVENT_BEFORE;
    let op = event & pg_sys::TRIGGER_EVENT_OPMASK;
    if !is_row_before || !(op == pg_sys::TRIGGER_EVENT_INSERT || op == pg_sys::TRIGGER_EVENT_UPDATE) {
        raise(
            PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
            "vibecraft.guard_public_write() must be a BEFORE INSERT OR UPDATE ... FOR EACH ROW trigger",
            None,
        );
    }
    let row = if op == pg_sys::TRIGGER_EVENT_INSERT { data.tg_trigtuple } else { data.tg_newtuple };
    let keep = || Ok(trigger.new());
    // SAFETY: a catalog check of the session's current role (not the owner whose rights a
    // SECURITY DEFINER function runs with).
    if unsafe { pg_sys::superuser_arg(pg_sys::GetOuterUserId()) } || crate::triggers::restoring_dump() || identity::caller_is_service() {
        return keep();
    }
    let anonymous = identity::current_user().is_none();
    // SAFETY: the row and the relation are valid while the trigger fires.
    let (bytes, relation) = unsafe { (unpacked_size(row, (*data.tg_relation).rd_att), (*data.tg_relation).rd_id) };
    // The table's name, from the open relation, only where it is needed (errors, anon rules).
    // SAFETY: as above.
    let table = || unsafe { pgrx::name_data_to_str(&(*(*data.tg_relation).rd_rel).relname).to_string() };
    let most = if anonymous { settings::MAX_ANONYMOUS_ROW_BYTES.get() } else { settings::MAX_ROW_BYTES.get() } as i64;
    if bytes > most {
        raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("vibecraft: a row of vibecraft.{} may hold at most {most} bytes{}; this one holds {bytes}", table(), if anonymous { " when nobody is signed in" } else { "" }),
            Some("Store large content in a storage bucket and keep its path in the row."),
        );
    }
    if anonymous && op == pg_sys::TRIGGER_EVENT_INSERT && !rate_limit::admit_anonymous_insert(relation, &table()) {
        raise(
            PgSqlErrorCode::ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
            format!("vibecraft: too many anonymous writes to vibecraft.{} right now", table()),
            Some("Try again in a minute, or sign in."),
        );
    }
    keep()
}
