//! Work that must run outside the caller's transaction, in a dynamic background worker
//! of vibecraft's own, connected to the caller's database as the bootstrap superuser:
//!   * counting queued API key uses (api_keys.rs), so a caller's open transaction
//!     never holds a row lock on a key;
//!   * VACUUM of vibecraft's tables (vacuum_all_tables), which PostgreSQL refuses to
//!     run inside a transaction or a function.
//! A worker does one job and exits. Starting one needs a free slot of
//! max_worker_processes; when none is free, `start` says so and the caller chooses.

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::pg_sys;
use std::ffi::CString;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Job {
    FlushApiKeyUsage,
    Vacuum,
    VacuumAnalyze,
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Job::FlushApiKeyUsage => "flush_api_key_usage",
            Job::Vacuum => "vacuum",
            Job::VacuumAnalyze => "vacuum_analyze",
        }
    }

    fn from_name(name: &str) -> Option<Job> {
        [Job::FlushApiKeyUsage, Job::Vacuum, Job::VacuumAnalyze].into_iter().find(|j| j.name() == name)
    }
}

/// Start a worker for `job` in this database; with `wait`, return once it has finished.
/// False when no worker could be started (no free slot, or a server in recovery).
pub fn start(job: Job, wait: bool) -> bool {
    // SAFETY: plain reads of the backend's state.
    let (database, pid, in_recovery) = unsafe { (pg_sys::MyDatabaseId, pg_sys::MyProcPid, pg_sys::RecoveryInProgress()) };
    if in_recovery {
        return false;
    }
    let worker = BackgroundWorkerBuilder::new(&format!("vibecraft {}", job.name()))
        // pg_stat_activity.backend_type: vacuum_all_tables runs one at a time per database.
        .set_type(match job {
            Job::FlushApiKeyUsage => "vibecraft usage flush",
            Job::Vacuum | Job::VacuumAnalyze => "vibecraft vacuum",
        })
        .set_library("vibecraft")
        .set_function("vibecraft_background_main")
        .set_argument(Some(pg_sys::Datum::from(database.to_u32())))
        .set_extra(job.name())
        .enable_spi_access()
        .set_start_time(pgrx::bgworkers::BgWorkerStartTime::RecoveryFinished)
        .set_notify_pid(if wait { pid } else { 0 })
        .load_dynamic();
    match worker {
        Err(_) => false,
        Ok(worker) => {
            if wait {
                let _ = worker.wait_for_shutdown();
            }
            true
        }
    }
}

/// The worker's entry point (bgw_function_name).
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn vibecraft_background_main(argument: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = pg_sys::Oid::from(argument.value() as u32);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(database), None);
    match Job::from_name(BackgroundWorker::get_extra()) {
        Some(Job::FlushApiKeyUsage) => {
            crate::api_keys::flush_in_worker();
        }
        Some(job @ (Job::Vacuum | Job::VacuumAnalyze)) => vacuum_maintained_tables(job == Job::VacuumAnalyze),
        None => {}
    }
}

/// VACUUM every table vibecraft maintains (vibecraft.maintained_tables()), as a
/// top-level statement of this worker: VACUUM commits and starts transactions itself.
fn vacuum_maintained_tables(analyze: bool) {
    let tables = BackgroundWorker::transaction(|| {
        Spi::get_one::<String>("SELECT pg_catalog.string_agg(t::pg_catalog.text, ', ') FROM vibecraft.maintained_tables() t")
    });
    let Ok(Some(tables)) = tables else { return };
    let sql = CString::new(format!("VACUUM ({}) {tables}", if analyze { "ANALYZE" } else { "" }).replace("()", ""))
        .expect("table names hold no NUL");
    // SAFETY: the sequence PostgreSQL's own top-level statements follow: a transaction
    // command started, the statement parsed and run as top level, then committed.
    // VACUUM's cross-transaction memory hangs off PortalContext, which a worker must
    // provide itself (as autovacuum does).
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PortalContext = pg_sys::AllocSetContextCreateInternal(
            pg_sys::TopMemoryContext,
            c"vibecraft vacuum".as_ptr(),
            pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
        );
        let statements = pg_sys::pg_parse_query(sql.as_ptr());
        let raw = pgrx::PgList::<pg_sys::RawStmt>::from_pg(statements).get_ptr(0).expect("one statement");
        let pstate = pg_sys::make_parsestate(std::ptr::null_mut());
        (*pstate).p_sourcetext = sql.as_ptr();
        pg_sys::ExecVacuum(pstate, (*raw).stmt.cast(), true);
        pg_sys::CommitTransactionCommand();
    }
}

/// `vibecraft.vacuum_in_background(analyze, wait)`: start the VACUUM worker; false when
/// no worker could be started. Internal to vacuum_all_tables; granted to no one.
#[pg_extern(volatile, parallel_unsafe)]
fn vacuum_in_background(analyze: bool, wait: bool) -> bool {
    start(if analyze { Job::VacuumAnalyze } else { Job::Vacuum }, wait)
}
