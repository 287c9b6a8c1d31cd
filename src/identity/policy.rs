//! What row-level-security policies ask about the caller, answered natively and once per
//! statement: `is_admin()`, `project_ids_with_role(min_role)`, `org_ids_with_role(min_role)`,
//! `owner_scope_low()` and `owner_scope_high()` (declared in sql/identity/rules.sql).
//!
//! Policies call these directly, not as `(SELECT vibecraft.fn())`: Citus refuses
//! subqueries in the policies of distributed tables, and a PL/pgSQL SECURITY DEFINER
//! helper run as an InitPlan cost a fifth of an RLS-filtered read. Called per row, each
//! helper answers from backend memory: the rows it reads (the caller's users row, its
//! projects and memberships) are read once for the statement's snapshot and kept until
//! the snapshot, the caller or the transaction changes, or a savepoint is rolled back.
//! So a helper sees what the statement sees, as a STABLE function must, and a
//! membership granted or revoked by a transaction that commits in the meantime counts
//! from the next statement on, as before.

use super::{caller_is_service, current_user, key_lacks_admin_scope};
use crate::errors::invalid_parameter;
use crate::owner_rights::{types::UUID, Access, OwnerStatement};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgMemoryContexts};
use std::cell::RefCell;

/// Who is asking. Computed on every call (it is cheap), so that a sign-in, SET ROLE or
/// new request claims inside one statement are honoured at once.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Caller {
    user: Option<pgrx::Uuid>,
    service: bool,
    key_lacks_admin_scope: bool,
}

/// Which data the statement sees: its snapshot, down to the command within this
/// transaction. Two snapshots with the same completion count were taken with no
/// transaction ending in between, so they see the same rows.
#[derive(Clone, Copy, PartialEq, Eq)]
struct View {
    xmin: pg_sys::TransactionId,
    xmax: pg_sys::TransactionId,
    curcid: pg_sys::CommandId,
    completed: u64,
}

/// A set of ids, with the uuid[] handed to PostgreSQL, allocated once in the
/// transaction's memory: policies compare a column with it on every row, and the
/// executor may hold on to it for a whole scan, so it is never freed before the
/// transaction ends.
struct Ids {
    ids: Vec<pgrx::Uuid>,
    array: pg_sys::Datum,
}

#[derive(Default)]
struct Answers {
    /// The caller's users row: (platform admin, organization, organization role rank).
    user_row: Option<(bool, Option<(pgrx::Uuid, u8)>)>,
    /// Projects with the caller's rank in each (owner 4 > admin 3 > editor 2 > viewer 1).
    project_ranks: Option<Vec<(pgrx::Uuid, u8)>>,
    /// The arrays handed out, by minimum rank (index rank - 1).
    projects: [Option<Ids>; 4],
    organizations: [Option<Ids>; 3],
}

struct Asked {
    caller: Caller,
    view: View,
    answers: Answers,
}

thread_local! {
    static ASKED: RefCell<Option<Asked>> = const { RefCell::new(None) };
    /// The arrays of earlier statements in this transaction, so that an unchanged answer
    /// hands out the same array instead of a new copy per statement.
    static ARRAYS: RefCell<Vec<Ids>> = const { RefCell::new(Vec::new()) };
}

/// Forget every answer: at transaction end and when a savepoint is rolled back.
pub fn forget() {
    ASKED.with(|a| *a.borrow_mut() = None);
    ARRAYS.with(|a| a.borrow_mut().clear());
}

fn caller() -> Caller {
    Caller { user: current_user(), service: caller_is_service(), key_lacks_admin_scope: key_lacks_admin_scope() }
}

/// The active snapshot, or None outside a query (then nothing is kept).
fn view() -> Option<View> {
    // SAFETY: GetActiveSnapshot returns NULL or the snapshot on top of the active stack.
    unsafe {
        let snapshot = pg_sys::GetActiveSnapshot();
        (!snapshot.is_null()).then(|| {
            let s = &*snapshot;
            View { xmin: s.xmin, xmax: s.xmax, curcid: s.curcid, completed: s.snapXactCompletionCount }
        })
    }
}

/// `answer` from the answers kept for this caller and statement, completed by `read`
/// when they lack it (all read anew when the caller or the statement changed).
fn with_answers<T>(caller: Caller, answer: impl Fn(&Answers) -> Option<T>, read: impl FnOnce(&mut Answers)) -> T {
    let view = view();
    let fits = |asked: &Asked| asked.caller == caller && Some(asked.view) == view;
    // The common case, once per row: the answer is kept.
    if let Some(known) = ASKED.with(|a| a.borrow().as_ref().filter(|asked| fits(asked)).and_then(|asked| answer(&asked.answers))) {
        return known;
    }
    // Taken out while reading, so that no borrow is held if reading runs a policy's
    // helper again (a trigger, say) or raises an error.
    let mut answers = ASKED.with(|a| a.borrow_mut().take().filter(|asked| fits(asked)).map(|asked| asked.answers)).unwrap_or_default();
    read(&mut answers);
    let result = answer(&answers).expect("read just now");
    if let Some(view) = view {
        ASKED.with(|a| *a.borrow_mut() = Some(Asked { caller, view, answers }));
    }
    result
}

const USERS: (&std::ffi::CStr, &std::ffi::CStr) = (c"vibecraft", c"users");
const PROJECTS: (&std::ffi::CStr, &std::ffi::CStr) = (c"vibecraft", c"projects");
const ORGANIZATIONS: (&std::ffi::CStr, &std::ffi::CStr) = (c"vibecraft", c"organizations");

// Run with the tables' owner's rights under the caller's search_path, so search_path-proof
// (owner_rights.rs); read-only, so a hot standby answers them and they see the calling
// statement's snapshot.

/// The caller's users row: an active admin? its organization and role there.
static USER_ROW: OwnerStatement = OwnerStatement {
    rights_of: USERS,
    sql: "SELECT u.system_role OPERATOR(pg_catalog.=) 'admin' AND u.status OPERATOR(pg_catalog.=) 'ACTIVE'
                 AND u.deleted_at IS NULL,
             CASE WHEN u.status OPERATOR(pg_catalog.=) 'ACTIVE' AND u.deleted_at IS NULL THEN u.organization_id END,
             u.role::pg_catalog.text
        FROM vibecraft.users u WHERE u.id OPERATOR(pg_catalog.=) $1",
    arg_types: &[UUID],
    access: Access::Read,
};

/// The projects the caller owns (not deleted) and its memberships in projects not deleted.
static PROJECT_ROLES: OwnerStatement = OwnerStatement {
    rights_of: PROJECTS,
    sql: "SELECT p.id, 'owner'::pg_catalog.text FROM vibecraft.projects p
       WHERE p.user_id OPERATOR(pg_catalog.=) $1 AND p.deleted_at IS NULL
      UNION ALL
      SELECT m.project_id, m.role::pg_catalog.text FROM vibecraft.project_members m
        JOIN vibecraft.projects p ON p.id OPERATOR(pg_catalog.=) m.project_id AND p.deleted_at IS NULL
       WHERE m.user_id OPERATOR(pg_catalog.=) $1",
    arg_types: &[UUID],
    access: Access::Read,
};

/// Admins and the service role: every project, deleted ones included.
static ALL_PROJECTS: OwnerStatement = OwnerStatement {
    rights_of: PROJECTS,
    sql: "SELECT p.id FROM vibecraft.projects p",
    arg_types: &[],
    access: Access::Read,
};

static ALL_ORGANIZATIONS: OwnerStatement = OwnerStatement {
    rights_of: ORGANIZATIONS,
    sql: "SELECT o.id FROM vibecraft.organizations o",
    arg_types: &[],
    access: Access::Read,
};

fn project_rank(role: &str) -> Option<u8> {
    match role.to_ascii_lowercase().as_str() {
        "owner" => Some(4),
        "admin" => Some(3),
        "editor" => Some(2),
        "viewer" => Some(1),
        _ => None,
    }
}

fn org_rank(role: &str) -> Option<u8> {
    match role.to_ascii_uppercase().as_str() {
        "ADMIN" => Some(3),
        "MANAGER" => Some(2),
        "MEMBER" => Some(1),
        _ => None,
    }
}

/// The minimum rank a policy asks for; 22023 as project_role_rank() and org_role_rank() say it.
fn min_rank(given: Option<&str>, what: &str, allowed: &str, rank: fn(&str) -> Option<u8>) -> u8 {
    given.and_then(rank).unwrap_or_else(|| {
        // Echo a bounded prefix: a caller's 200 MB string must not become a 200 MB log line.
        let given = given.map_or("NULL".to_string(), |g| {
            let shown: String = g.chars().take(40).collect();
            let more = if shown.len() < g.len() { "..." } else { "" };
            format!("'{}'{more}", shown.replace('\'', "''"))
        });
        invalid_parameter(format!("vibecraft: {what} must be {allowed}, not {given}"))
    })
}

fn read_user_row(answers: &mut Answers, user: pgrx::Uuid) {
    if answers.user_row.is_none() {
        let row = USER_ROW.run(&[user.into()], |mut rows| {
            rows.next().map(|row| {
                let admin = row.get::<bool>(1).ok().flatten().unwrap_or(false);
                let organization = row.get::<pgrx::Uuid>(2).ok().flatten();
                let rank = row.get::<String>(3).ok().flatten().as_deref().and_then(org_rank);
                (admin, organization.zip(rank))
            })
        });
        answers.user_row = Some(row.unwrap_or((false, None)));
    }
}

/// Whether the caller is an active platform admin (and, signed in with an API key, the
/// key carries the admin scope).
fn admin(caller: Caller) -> bool {
    let Some(user) = caller.user.filter(|_| !caller.key_lacks_admin_scope) else { return false };
    with_answers(caller, |a| a.user_row.map(|(admin, _)| admin), |a| read_user_row(a, user))
}

pub fn caller_is_admin() -> bool {
    admin(caller())
}

fn ids_of(rows: pgrx::spi::SpiTupleTable) -> Vec<pgrx::Uuid> {
    rows.filter_map(|row| row.get::<pgrx::Uuid>(1).ok().flatten()).collect()
}

/// The array for `ids` (sorted, distinct): the one handed out earlier in this transaction
/// when it holds the same ids, else a new one in the transaction's memory.
fn array_of(mut ids: Vec<pgrx::Uuid>) -> Ids {
    ids.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    ids.dedup();
    let known = ARRAYS.with(|a| a.borrow().iter().find(|x| x.ids == ids).map(|x| x.array));
    let array = known.unwrap_or_else(|| {
        // SAFETY: TopTransactionContext exists inside a transaction, where policies run.
        let array = unsafe {
            PgMemoryContexts::TopTransactionContext.switch_to(|_| ids.clone().into_datum()).expect("an array")
        };
        ARRAYS.with(|a| a.borrow_mut().push(Ids { ids: ids.clone(), array }));
        array
    });
    Ids { ids, array }
}

/// The uuid[] of the projects in which the caller holds at least `rank`.
fn projects_with_rank(caller: Caller, rank: u8) -> pg_sys::Datum {
    let slot = usize::from(rank - 1);
    let everything = caller.service || admin(caller);
    with_answers(
        caller,
        |a| a.projects[slot].as_ref().map(|ids| ids.array),
        |a| {
            let ids = if everything {
                ALL_PROJECTS.run(&[], ids_of)
            } else if let Some(user) = caller.user {
                if a.project_ranks.is_none() {
                    a.project_ranks = Some(PROJECT_ROLES.run(&[user.into()], |rows| {
                        rows.filter_map(|row| {
                            let id = row.get::<pgrx::Uuid>(1).ok().flatten()?;
                            Some((id, row.get::<String>(2).ok().flatten().as_deref().and_then(project_rank)?))
                        })
                        .collect()
                    }));
                }
                let ranks = a.project_ranks.as_ref().expect("read above");
                ranks.iter().filter(|(_, r)| *r >= rank).map(|(id, _)| *id).collect()
            } else {
                Vec::new()
            };
            a.projects[slot] = Some(array_of(ids));
        },
    )
}

/// The uuid[] of the organizations in which the caller holds at least `rank`.
fn organizations_with_rank(caller: Caller, rank: u8) -> pg_sys::Datum {
    let slot = usize::from(rank - 1);
    let everything = caller.service || admin(caller);
    with_answers(
        caller,
        |a| a.organizations[slot].as_ref().map(|ids| ids.array),
        |a| {
            let ids = if everything {
                ALL_ORGANIZATIONS.run(&[], ids_of)
            } else if let Some(user) = caller.user {
                read_user_row(a, user);
                let (_, organization) = a.user_row.expect("read above");
                organization.filter(|(_, r)| *r >= rank).map(|(id, _)| id).into_iter().collect()
            } else {
                Vec::new()
            };
            a.organizations[slot] = Some(array_of(ids));
        },
    )
}

/// The range of user ids the caller may see as owner: its own id; everything for admins
/// and the service role; an empty range when no one signed in.
fn owner_scope() -> (pgrx::Uuid, pgrx::Uuid) {
    let (nil, max) = (pgrx::Uuid::from_bytes([0; 16]), pgrx::Uuid::from_bytes([0xff; 16]));
    let caller = caller();
    if caller.service || admin(caller) {
        return (nil, max);
    }
    caller.user.map_or((max, nil), |user| (user, user))
}

// The SQL functions, version-1 C functions declared in sql/identity/rules.sql (written
// by hand rather than with #[pg_extern] so that the arrays can be handed out as they are
// kept, without a copy per row).

macro_rules! v1_function {
    ($finfo:ident) => {
        #[no_mangle]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static pg_sys::Pg_finfo_record {
            const V1: &pg_sys::Pg_finfo_record = &pg_sys::Pg_finfo_record { api_version: 1 };
            V1
        }
    };
}

/// The text argument `num`, or None for NULL.
unsafe fn text_arg(fcinfo: pg_sys::FunctionCallInfo, num: usize) -> Option<String> {
    // SAFETY: the caller passes the fcinfo PostgreSQL gave it; the argument is text.
    unsafe { pgrx::fcinfo::pg_getarg::<String>(fcinfo, num) }
}

v1_function!(pg_finfo_vibecraft_is_admin);
/// `vibecraft.is_admin()`.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn vibecraft_is_admin(_fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    caller_is_admin().into_datum().expect("a boolean")
}

v1_function!(pg_finfo_vibecraft_project_ids_with_role);
/// `vibecraft.project_ids_with_role(min_role text)`.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn vibecraft_project_ids_with_role(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL's fcinfo for a function of one text argument.
    let given = unsafe { text_arg(fcinfo, 0) };
    let rank = min_rank(given.as_deref(), "project role", "owner, admin, editor or viewer", project_rank);
    projects_with_rank(caller(), rank)
}

v1_function!(pg_finfo_vibecraft_org_ids_with_role);
/// `vibecraft.org_ids_with_role(min_role text)`.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn vibecraft_org_ids_with_role(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL's fcinfo for a function of one text argument.
    let given = unsafe { text_arg(fcinfo, 0) };
    let rank = min_rank(given.as_deref(), "organization role", "ADMIN, MANAGER or MEMBER", org_rank);
    organizations_with_rank(caller(), rank)
}

v1_function!(pg_finfo_vibecraft_owner_scope_low);
/// `vibecraft.owner_scope_low()`.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn vibecraft_owner_scope_low(_fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    owner_scope().0.into_datum().expect("a uuid")
}

v1_function!(pg_finfo_vibecraft_owner_scope_high);
/// `vibecraft.owner_scope_high()`.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn vibecraft_owner_scope_high(_fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    owner_scope().1.into_datum().expect("a uuid")
}
