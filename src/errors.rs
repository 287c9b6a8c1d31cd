//! The one way vibecraft raises an SQL error: a proper SQLSTATE, a message that says
//! what was wrong with which input, and a hint that says what to do.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// Raise an ERROR with `code` and `message` (and an optional `hint`); never returns.
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, hint: Option<&str>) -> ! {
    let mut report = ErrorReport::new(code, message.into(), "vibecraft");
    if let Some(hint) = hint {
        report = report.set_hint(hint);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// On a hot standby (a read replica) nothing can be written: a function that must write
/// says so, and where to go, before PostgreSQL's own "read-only transaction" error would.
pub fn refuse_on_a_replica(function: &str) {
    // SAFETY: a read of the server's recovery state (a backend-local flag once it ended).
    if unsafe { pgrx::pg_sys::RecoveryInProgress() } {
        raise(
            PgSqlErrorCode::ERRCODE_READ_ONLY_SQL_TRANSACTION,
            format!("vibecraft.{function} changes data, and this server is a read replica (a hot standby): call it on the primary"),
            Some("A replica serves sign-in, reads, API key validation and statistics; writes go to the primary."),
        );
    }
}

/// Raise 22023 invalid_parameter_value: the most common complaint about an argument.
pub fn invalid_parameter(message: impl Into<String>) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message, None)
}

/// Raise XX000 internal_error: for what no input can cause (an SPI call that fails), so
/// the message says which step of vibecraft failed.
pub fn internal(message: impl Into<String>) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, message, None)
}
