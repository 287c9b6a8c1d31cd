//! The one door for statements that run with more rights than the caller's: an
//! [`OwnerStatement`] runs with the rights of a table's owner, through a plan prepared
//! once per backend, for the paths where a SECURITY DEFINER function costs too much or
//! cannot be used (triggers, hot paths).
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
//!
//! Declare each statement as a `static` next to the code that runs it, with the types of
//! its parameters; the plan cache knows a statement by the static's address.

use crate::errors::{internal, raise};
use pgrx::datum::DatumWithOid;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiCursor, SpiError, SpiTupleTable};
use pgrx::{pg_sys, PgBuiltInOids, PgOid, PgSqlErrorCode, Spi};
use std::cell::RefCell;
use std::ffi::CStr;
use std::rc::Rc;

/// Parameter types for [`OwnerStatement::arg_types`].
pub mod types {
    use super::{PgBuiltInOids, PgOid};

    pub const BYTEA: PgOid = PgOid::BuiltIn(PgBuiltInOids::BYTEAOID);
    pub const INT4: PgOid = PgOid::BuiltIn(PgBuiltInOids::INT4OID);
    pub const INT8_ARRAY: PgOid = PgOid::BuiltIn(PgBuiltInOids::INT8ARRAYOID);
    pub const JSONB: PgOid = PgOid::BuiltIn(PgBuiltInOids::JSONBOID);
    pub const NUMERIC: PgOid = PgOid::BuiltIn(PgBuiltInOids::NUMERICOID);
    pub const TEXT: PgOid = PgOid::BuiltIn(PgBuiltInOids::TEXTOID);
    pub const TIMESTAMPTZ_ARRAY: PgOid = PgOid::BuiltIn(PgBuiltInOids::TIMESTAMPTZARRAYOID);
    pub const UUID: PgOid = PgOid::BuiltIn(PgBuiltInOids::UUIDOID);
    pub const UUID_ARRAY: PgOid = PgOid::BuiltIn(PgBuiltInOids::UUIDARRAYOID);
}

/// How SPI runs a statement.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// SPI read-only while the transaction has written nothing: the calling statement's
    /// snapshot, and no transaction id is taken (an API key validation writes nothing).
    Read,
    /// May write: a transaction id, and a fresh snapshot for each statement, which READ
    /// COMMITTED re-checks and "see what the call we waited for committed" rely on. A hot
    /// standby refuses to assign transaction ids: what a replica must serve uses Read.
    Write,
    /// Read in the calling statement's snapshot, even once the transaction has written
    /// (where Read, as SPI does for a call that is not read-only, takes a fresh one): for
    /// the policy helpers, whose answers are kept per statement snapshot
    /// (identity/policy.rs), so that an answer is always what the statement itself sees.
    StatementSnapshot,
}

/// A search_path-proof statement run with the rights of the owner of `rights_of`.
pub struct OwnerStatement {
    /// The table (schema, name) whose owner's rights the statement runs with.
    pub rights_of: (&'static CStr, &'static CStr),
    pub sql: &'static str,
    /// The types of $1, $2, ...: declared, never guessed.
    pub arg_types: &'static [PgOid],
    pub access: Access,
}

thread_local! {
    /// The plans prepared in this backend, one per statement, known by its address.
    /// Plans are handed out as `Rc`s so that no borrow is held while a statement runs:
    /// one may fire a trigger that runs another (credits -> audit trail).
    static PLANS: RefCell<Vec<(*const OwnerStatement, Rc<OwnedPreparedStatement>)>> =
        const { RefCell::new(Vec::new()) };
    /// The same statements' plans as SPI keeps them, for StatementSnapshot reads, which
    /// open a read-only cursor (pgrx decides read-only itself for its own plans).
    static RAW_PLANS: RefCell<Vec<(*const OwnerStatement, pg_sys::SPIPlanPtr)>> =
        const { RefCell::new(Vec::new()) };
}

impl OwnerStatement {
    /// Run the statement with `args` as the owner of `rights_of` and give its rows to
    /// `read` (still as the owner, inside the SPI connection). The owner is looked up in
    /// the system caches on every call, so ALTER TABLE ... OWNER TO takes effect at once.
    pub fn run<T>(&'static self, args: &[DatumWithOid], read: impl FnOnce(SpiTupleTable) -> T) -> T {
        let owner = owner_of(self.rights_of.0, self.rights_of.1);
        with_rights_of(owner, || allowing_nested_citus_queries(self.access != Access::Write, || {
            Spi::connect_mut(|client| {
                // SAFETY: a read of the transaction's state.
                let has_written = unsafe { pg_sys::GetCurrentTransactionIdIfAny() } != pg_sys::InvalidTransactionId;
                if self.access == Access::StatementSnapshot && has_written {
                    let mut cursor = self.open_in_statement_snapshot(client, args);
                    return read(cursor.fetch(std::ffi::c_long::MAX).unwrap_or_else(|e| self.failed("run", e)));
                }
                let plan = self.plan(client);
                let rows = match self.access {
                    // Before the transaction writes, pgrx runs these read-only: the
                    // statement's snapshot.
                    Access::Read | Access::StatementSnapshot => client.select(&*plan, None, args),
                    Access::Write => client.update(&*plan, None, args),
                };
                read(rows.unwrap_or_else(|e| self.failed("run", e)))
            })
        }))
    }

    /// This statement's plan, prepared (as the owner) and kept on first use.
    fn plan(&'static self, client: &SpiClient) -> Rc<OwnedPreparedStatement> {
        let key: *const OwnerStatement = self;
        let known = PLANS.with(|p| p.borrow().iter().find(|(k, _)| *k == key).map(|(_, plan)| plan.clone()));
        if let Some(plan) = known {
            return plan;
        }
        let prepared = match self.access {
            Access::Read | Access::StatementSnapshot => client.prepare(self.sql, self.arg_types),
            Access::Write => client.prepare_mut(self.sql, self.arg_types),
        };
        let plan = Rc::new(prepared.unwrap_or_else(|e| self.failed("prepare", e)).keep());
        PLANS.with(|p| p.borrow_mut().push((key, plan.clone())));
        plan
    }

    /// A read-only cursor over this statement in the active (the calling statement's)
    /// snapshot: what SPI does for a read-only call, asked for explicitly.
    fn open_in_statement_snapshot<'conn>(&'static self, client: &SpiClient<'conn>, args: &[DatumWithOid]) -> SpiCursor<'conn> {
        assert_eq!(args.len(), self.arg_types.len(), "one argument per declared parameter");
        let plan = self.raw_plan();
        let (mut datums, nulls): (Vec<pg_sys::Datum>, Vec<std::ffi::c_char>) = args
            .iter()
            .map(|a| match a.datum() {
                Some(d) => (d.sans_lifetime(), b' ' as std::ffi::c_char),
                None => (pg_sys::Datum::from(0usize), b'n' as std::ffi::c_char),
            })
            .unzip();
        // SAFETY: a kept plan with as many parameters as args (its types are arg_types);
        // SPI_cursor_open raises an error rather than return NULL, and copies the values.
        let name = unsafe {
            let portal = pg_sys::SPI_cursor_open(std::ptr::null(), plan, datums.as_mut_ptr(), nulls.as_ptr(), true);
            CStr::from_ptr((*portal).name).to_string_lossy().into_owned()
        };
        client.find_cursor(&name).unwrap_or_else(|e| self.failed("open a cursor for", e))
    }

    /// This statement's plan as SPI keeps it, prepared (as the owner) on first use.
    fn raw_plan(&'static self) -> pg_sys::SPIPlanPtr {
        let key: *const OwnerStatement = self;
        if let Some(plan) = RAW_PLANS.with(|p| p.borrow().iter().find(|(k, _)| *k == key).map(|(_, plan)| *plan)) {
            return plan;
        }
        let sql = std::ffi::CString::new(self.sql).expect("a statement without NUL bytes");
        let mut types: Vec<pg_sys::Oid> = self.arg_types.iter().map(|t| t.value()).collect();
        let count = i32::try_from(types.len()).expect("a few parameters");
        // SAFETY: inside an SPI connection; SPI_prepare copies the text and the types.
        let plan = unsafe { pg_sys::SPI_prepare(sql.as_ptr(), count, types.as_mut_ptr()) };
        // SAFETY: a plan SPI_prepare returned, kept for the life of the backend.
        if plan.is_null() || unsafe { pg_sys::SPI_keepplan(plan) } != 0 {
            internal(format!(
                "vibecraft: cannot prepare a statement run as the owner of {}.{}",
                self.rights_of.0.to_string_lossy(),
                self.rights_of.1.to_string_lossy()
            ));
        }
        RAW_PLANS.with(|p| p.borrow_mut().push((key, plan)));
        plan
    }

    fn failed(&self, what: &str, e: SpiError) -> ! {
        internal(format!(
            "vibecraft: cannot {what} a statement run as the owner of {}.{}: {e}",
            self.rights_of.0.to_string_lossy(),
            self.rights_of.1.to_string_lossy()
        ))
    }
}

/// The owner of `schema.table`, from the system caches (no query).
pub(crate) fn owner_of(schema: &CStr, table: &CStr) -> pg_sys::Oid {
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

/// Citus' setting that lets a query run inside a shard's query.
const CITUS_NESTED: &CStr = c"citus.allow_nested_distributed_execution";

/// Run `f` with Citus' nested execution allowed, on a server where Citus is loaded. On a
/// Citus worker, vibecraft's statements run inside the shard queries of the coordinator's
/// statement (a policy's helper, a trigger) and read reference tables (users, projects,
/// memberships), which Citus answers from that node's own copy; without this Citus refuses
/// any query of a Citus table there ("cannot execute a distributed query from a query on a
/// shard"). The setting is back to what it was when `f` returns, and at an error the
/// transaction's abort restores it (GUC nest level, as a function's SET clause does).
fn allowing_nested_citus_queries<T>(reads_only: bool, f: impl FnOnce() -> T) -> T {
    // Only for reads: a write from inside a shard's query is Citus' nested distributed
    // execution, which it does not promise to keep atomic with the outer transaction.
    if !reads_only || !crate::identity::nodes::citus_in_this_database() {
        return f();
    }
    // SAFETY: a new GUC nest level, a session-level set of a user-settable option saved
    // in that level, and the level popped (its change undone) afterwards.
    let level = unsafe {
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            CITUS_NESTED.as_ptr(),
            c"on".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        level
    };
    let result = f();
    unsafe { pg_sys::AtEOXact_GUC(true, level) };
    result
}

/// Run `f` with the rights of `owner`; only search_path-proof statements inside (see above).
fn with_rights_of<T>(owner: pg_sys::Oid, f: impl FnOnce() -> T) -> T {
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
