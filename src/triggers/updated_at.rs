//! `vibecraft.set_updated_at()`: BEFORE UPDATE row trigger that stamps the row's
//! `updated_at` (or the column named by the trigger's first argument) with the
//! transaction's start time, the same value `now()` gives. The drop-in native
//! replacement for contrib moddatetime and for the usual PL/pgSQL trigger.

use crate::errors::raise;
use pgrx::prelude::*;
use pgrx::{pg_sys, PgTupleDesc};

#[pg_trigger]
fn set_updated_at<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, PgTriggerError> {
    let data = trigger.trigger_data();
    let event = data.tg_event;
    let is_row = event & pg_sys::TRIGGER_EVENT_ROW != 0;
    let is_before = event & pg_sys::TRIGGER_EVENT_TIMINGMASK == pg_sys::TRIGGER_EVENT_BEFORE;
    let is_update = event & pg_sys::TRIGGER_EVENT_OPMASK == pg_sys::TRIGGER_EVENT_UPDATE;
    if !(is_row && is_before && is_update) {
        raise(
            PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
            "vibecraft.set_updated_at() must be a BEFORE UPDATE ... FOR EACH ROW trigger",
            None,
        );
    }

    // SAFETY: we are inside a firing row trigger, so the relation, its tuple descriptor
    // and the new tuple are valid for the duration of this call.
    unsafe {
        let tupdesc = (*data.tg_relation).rd_att;
        let trig = &*data.tg_trigger;
        let column: &std::ffi::CStr = if trig.tgnargs > 0 {
            std::ffi::CStr::from_ptr(*trig.tgargs)
        } else {
            c"updated_at"
        };
        let attnum = pg_sys::SPI_fnumber(tupdesc, column.as_ptr());
        if attnum <= 0 {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!(
                    "vibecraft.set_updated_at(): table has no column \"{}\"",
                    column.to_string_lossy()
                ),
                Some("Pass the timestamp column's name as the trigger's argument."),
            );
        }
        let typid = super::columns_of(tupdesc).get((attnum - 1) as usize).expect("SPI_fnumber's column").atttypid;
        let now = pg_sys::GetCurrentTransactionStartTimestamp();
        let mut value = match typid {
            pg_sys::TIMESTAMPTZOID => pg_sys::Datum::from(now),
            // timestamp without time zone: the session's local time, as now()::timestamp.
            pg_sys::TIMESTAMPOID => pgrx::direct_function_call_as_datum(
                pg_sys::timestamptz_timestamp,
                &[Some(pg_sys::Datum::from(now))],
            )
            .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "timestamp conversion failed", None)),
            _ => raise(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!(
                    "vibecraft.set_updated_at(): column \"{}\" must be timestamptz or timestamp",
                    column.to_string_lossy()
                ),
                None,
            ),
        };
        let mut cols = [attnum];
        let mut isnull = [false];
        let modified = pg_sys::heap_modify_tuple_by_cols(
            data.tg_newtuple,
            tupdesc,
            1,
            cols.as_mut_ptr(),
            &mut value,
            isnull.as_mut_ptr(),
        );
        Ok(Some(PgHeapTuple::from_heap_tuple(PgTupleDesc::from_pg_unchecked(tupdesc), modified)))
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn stamps_transaction_time_on_update_only() {
        Spi::run(
            "CREATE TEMP TABLE t (id int, v text, updated_at timestamptz DEFAULT '2000-01-01');
             CREATE TRIGGER t_u BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION vibecraft.set_updated_at();
             INSERT INTO t VALUES (1, 'a');",
        )
        .unwrap();
        let inserted = Spi::get_one::<bool>("SELECT updated_at = '2000-01-01' FROM t").unwrap();
        assert_eq!(inserted, Some(true), "INSERT keeps the column's own value");
        Spi::run("UPDATE t SET v = 'b'").unwrap();
        let stamped = Spi::get_one::<bool>("SELECT updated_at = now() FROM t").unwrap();
        assert_eq!(stamped, Some(true));
    }

    #[pg_test]
    fn named_column_and_timestamp_type() {
        Spi::run(
            "CREATE TEMP TABLE t2 (id int, modified timestamp);
             CREATE TRIGGER t2_u BEFORE UPDATE ON t2 FOR EACH ROW EXECUTE FUNCTION vibecraft.set_updated_at('modified');
             INSERT INTO t2 VALUES (1, NULL); UPDATE t2 SET id = 2;",
        )
        .unwrap();
        let stamped = Spi::get_one::<bool>("SELECT modified = now()::timestamp FROM t2").unwrap();
        assert_eq!(stamped, Some(true));
    }

    #[pg_test(error = "vibecraft.set_updated_at(): table has no column \"updated_at\"")]
    fn missing_column_is_a_clear_error() {
        Spi::run(
            "CREATE TEMP TABLE t3 (id int);
             CREATE TRIGGER t3_u BEFORE UPDATE ON t3 FOR EACH ROW EXECUTE FUNCTION vibecraft.set_updated_at();
             INSERT INTO t3 VALUES (1); UPDATE t3 SET id = 2;",
        )
        .unwrap();
    }
}
