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
use std::cell::{Cell, RefCell};
use std::rc::Rc;

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

/// One answer: a set of ids (sorted, distinct), and a serial number that tells this
/// answer from every other one handed out in this backend, so that a function call can
/// check with one comparison whether the array it built earlier still holds the answer.
#[derive(Clone)]
struct Ids {
    serial: u64,
    ids: Rc<[pgrx::Uuid]>,
}

#[derive(Default)]
struct Answers {
    /// The caller's users row: (platform admin, organization, organization role rank).
    user_row: Option<(bool, Option<(pgrx::Uuid, u8)>)>,
    /// Projects with the caller's rank in each (owner 4 > admin 3 > editor 2 > viewer 1).
    project_ranks: Option<Vec<(pgrx::Uuid, u8)>>,
    /// The answers, by minimum rank (index rank - 1).
    projects: [Option<Ids>; 4],
    organizations: [Option<Ids>; 3],
}

struct Asked {
    caller: Caller,
    view: View,
    answers: Answers,
}

thread_local! {
    /// The answers for one caller and one snapshot: only the latest are kept, so a
    /// transaction that changes its answers thousands of times holds one set.
    static ASKED: RefCell<Option<Asked>> = const { RefCell::new(None) };
    static LAST_SERIAL: Cell<u64> = const { Cell::new(0) };
}

/// Forget every answer: at transaction end and when a savepoint is rolled back.
pub fn forget() {
    ASKED.with(|a| *a.borrow_mut() = None);
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
// (owner_rights.rs); read-only in the calling statement's snapshot (also once the
// transaction has written), so a hot standby answers them and an answer kept for a
// snapshot is what that snapshot shows.

/// The caller's users row: an active admin? its organization (while neither the user nor
/// the organization is deleted or the user suspended) and role there.
static USER_ROW: OwnerStatement = OwnerStatement {
    rights_of: USERS,
    sql: "SELECT u.system_role OPERATOR(pg_catalog.=) 'admin' AND u.status OPERATOR(pg_catalog.=) 'ACTIVE'
                 AND u.deleted_at IS NULL,
             CASE WHEN u.status OPERATOR(pg_catalog.=) 'ACTIVE' AND u.deleted_at IS NULL THEN o.id END,
             u.role::pg_catalog.text
        FROM vibecraft.users u
        LEFT JOIN vibecraft.organizations o ON o.id OPERATOR(pg_catalog.=) u.organization_id AND o.deleted_at IS NULL
       WHERE u.id OPERATOR(pg_catalog.=) $1",
    arg_types: &[UUID],
    access: Access::StatementSnapshot,
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
    access: Access::StatementSnapshot,
};

/// Admins and the service role: every project, deleted ones included.
static ALL_PROJECTS: OwnerStatement = OwnerStatement {
    rights_of: PROJECTS,
    sql: "SELECT p.id FROM vibecraft.projects p",
    arg_types: &[],
    access: Access::StatementSnapshot,
};

static ALL_ORGANIZATIONS: OwnerStatement = OwnerStatement {
    rights_of: ORGANIZATIONS,
    sql: "SELECT o.id FROM vibecraft.organizations o",
    arg_types: &[],
    access: Access::StatementSnapshot,
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

/// `ids` as one answer: sorted, distinct, with a serial number of its own.
fn answer_of(mut ids: Vec<pgrx::Uuid>) -> Ids {
    ids.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    ids.dedup();
    let serial = LAST_SERIAL.with(|s| {
        s.set(s.get() + 1);
        s.get()
    });
    Ids { serial, ids: ids.into() }
}

/// The projects in which the caller holds at least `rank`.
fn projects_with_rank(caller: Caller, rank: u8) -> Ids {
    let slot = usize::from(rank - 1);
    let everything = caller.service || admin(caller);
    with_answers(
        caller,
        |a| a.projects[slot].as_ref().map(Ids::clone),
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
            a.projects[slot] = Some(answer_of(ids));
        },
    )
}

/// The organizations in which the caller holds at least `rank`.
fn organizations_with_rank(caller: Caller, rank: u8) -> Ids {
    let slot = usize::from(rank - 1);
    let everything = caller.service || admin(caller);
    with_answers(
        caller,
        |a| a.organizations[slot].as_ref().map(Ids::clone),
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
            a.organizations[slot] = Some(answer_of(ids));
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
// by hand rather than with #[pg_extern] so that an array is built once per calling
// expression, not once per row).

/// The array a calling expression was handed, kept in the expression's own memory
/// (`fn_extra` in `fn_mcxt`): it lives exactly as long as the executor may hold the array
/// (an index scan keeps it as its key for the whole scan) and is freed with the query.
#[repr(C)]
struct HandedOut {
    serial: u64,
    array: pg_sys::Datum,
}

/// The uuid[] of `answer` for the expression calling through `fcinfo`: the one it was
/// handed before when the answer is unchanged (the common case, once per row). The first
/// answer is built in the expression's memory; if the answer changes while the expression
/// lives (a sign-in inside the statement), each call builds its array in the calling
/// context, as any function's result, so that nothing accumulates.
unsafe fn hand_out(fcinfo: pg_sys::FunctionCallInfo, answer: &Ids) -> pg_sys::Datum {
    // SAFETY: fcinfo is PostgreSQL's; flinfo, when set, is the calling expression's, and
    // fn_extra belongs to this function (NULL until it is set here).
    unsafe {
        let flinfo = (*fcinfo).flinfo;
        if flinfo.is_null() {
            return uuid_array(&answer.ids);
        }
        let handed = (*flinfo).fn_extra.cast::<HandedOut>();
        if handed.is_null() {
            let array = PgMemoryContexts::For((*flinfo).fn_mcxt).switch_to(|_| uuid_array(&answer.ids));
            let handed = pg_sys::MemoryContextAlloc((*flinfo).fn_mcxt, std::mem::size_of::<HandedOut>()).cast::<HandedOut>();
            handed.write(HandedOut { serial: answer.serial, array });
            (*flinfo).fn_extra = handed.cast();
            array
        } else if (*handed).serial == answer.serial {
            (*handed).array
        } else {
            uuid_array(&answer.ids)
        }
    }
}

/// A uuid[] of `ids` in the current memory context, in one allocation.
fn uuid_array(ids: &[pgrx::Uuid]) -> pg_sys::Datum {
    const UUID_LEN: i32 = 16;
    // SAFETY: construct_array copies the 16 bytes each element points to; the pointers
    // stay valid (they point into `ids`) until it returns.
    unsafe {
        let array = if ids.is_empty() {
            pg_sys::construct_empty_array(pg_sys::UUIDOID)
        } else {
            let mut elements: Vec<pg_sys::Datum> = ids.iter().map(|id| pg_sys::Datum::from(id.as_bytes().as_ptr())).collect();
            let count = i32::try_from(elements.len()).expect("fewer ids than an array can hold");
            pg_sys::construct_array(elements.as_mut_ptr(), count, pg_sys::UUIDOID, UUID_LEN, false, pg_sys::TYPALIGN_CHAR as std::ffi::c_char)
        };
        pg_sys::Datum::from(array)
    }
}

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
    // SAFETY: PostgreSQL's fcinfo.
    unsafe { hand_out(fcinfo, &projects_with_rank(caller(), rank)) }
}

v1_function!(pg_finfo_vibecraft_org_ids_with_role);
/// `vibecraft.org_ids_with_role(min_role text)`.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn vibecraft_org_ids_with_role(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL's fcinfo for a function of one text argument.
    let given = unsafe { text_arg(fcinfo, 0) };
    let rank = min_rank(given.as_deref(), "organization role", "ADMIN, MANAGER or MEMBER", org_rank);
    // SAFETY: PostgreSQL's fcinfo.
    unsafe { hand_out(fcinfo, &organizations_with_rank(caller(), rank)) }
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
