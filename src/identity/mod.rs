//! Who is calling. `vibecraft.current_user_id()` is what every policy uses:
//!
//! 1. an identity established in this transaction by `vibecraft.authenticate(jwt)` (or,
//!    from the secrets module, `vibecraft.authenticate_api_key(key)`). It lives in backend
//!    memory, not in a setting, so `SET`/`set_config` cannot forge it, and it is cleared
//!    when the transaction (or the subtransaction that set it) ends, so a
//!    transaction-pooling proxy cannot hand it to the next client;
//! 2. the PostgREST/Supabase request claims, only where a superuser enabled
//!    `vibecraft.trust_request_claims` for the role or database;
//! 3. otherwise NULL, and policies deny.
//!
//! `is_service()` looks at the client's role as set at login or by SET ROLE (PostgreSQL's
//! "outer" user), which SECURITY DEFINER functions do not change, so helpers that run as
//! the extension owner still answer for the caller.

pub mod jwt;
pub mod nodes;
pub mod policy;

use crate::errors::{invalid_parameter, raise};
use crate::settings;
use pgrx::prelude::*;
use pgrx::{pg_sys, JsonB};
use std::cell::RefCell;
use std::ffi::CStr;

#[derive(Clone, Debug)]
pub struct Identity {
    pub user_id: pgrx::Uuid,
    /// The token's `role` claim: `authenticated`, `service_role`, `anon`, ...
    pub role: Option<String>,
    pub organization_id: Option<pgrx::Uuid>,
    pub claims: serde_json::Value,
    /// The subtransaction that established it: its rollback restores `previous`.
    subtransaction: pg_sys::SubTransactionId,
    previous: Option<Box<Identity>>,
}

/// Dropped link by link: a deep chain (one per nested savepoint) must not recurse.
impl Drop for Identity {
    fn drop(&mut self) {
        let mut next = self.previous.take();
        while let Some(mut identity) = next {
            next = identity.previous.take();
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Identity>> = const { RefCell::new(None) };
    /// Identities ended by sign_out(), with the subtransaction that ended them: rolling it
    /// back signs the user in again (as it restores vibecraft.node_identity on Citus).
    static SIGNED_OUT: RefCell<Vec<(pg_sys::SubTransactionId, Identity)>> = const { RefCell::new(Vec::new()) };
}

/// Establish `identity` for the rest of the current transaction.
pub fn establish(
    user_id: pgrx::Uuid,
    role: Option<String>,
    organization_id: Option<pgrx::Uuid>,
    claims: serde_json::Value,
) {
    // SAFETY: a plain read of transaction state.
    let subtransaction = unsafe { pg_sys::GetCurrentSubTransactionId() };
    CURRENT.with(|c| {
        // Only what was current when a subtransaction began is ever restored (by its
        // rollback), so a sign-in in the subtransaction of the identity it replaces keeps
        // that one's `previous`: repeated sign-ins cannot grow a chain (one entry per open
        // savepoint at most).
        let replaced = c.borrow_mut().take();
        let previous = match replaced {
            Some(mut same_level) if same_level.subtransaction == subtransaction => same_level.previous.take(),
            other => other.map(Box::new),
        };
        *c.borrow_mut() = Some(Identity {
            user_id,
            role,
            organization_id,
            claims,
            subtransaction,
            previous,
        });
    });
    // On a Citus coordinator, the workers of this transaction get it too.
    if nodes::propagating() {
        nodes::propagate(CURRENT.with(|c| c.borrow().clone()).as_ref());
    }
}

/// `f` applied to the identity of this transaction (established here, or on a Citus
/// worker the one the coordinator propagated), without copying it: policies ask per
/// row, and an Identity carries its claims.
pub fn with_identity<T>(f: impl FnOnce(&Identity) -> T) -> Option<T> {
    let mut f = Some(f);
    let here = CURRENT.with(|c| c.borrow().as_ref().map(|i| (f.take().expect("called once"))(i)));
    match (here, f) {
        (Some(answer), _) => Some(answer),
        (None, Some(f)) => nodes::propagated_with(f),
        (None, None) => None,
    }
}

unsafe extern "C-unwind" fn on_transaction_end(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    use pg_sys::XactEvent::*;
    if matches!(
        event,
        XACT_EVENT_COMMIT | XACT_EVENT_ABORT | XACT_EVENT_PARALLEL_COMMIT | XACT_EVENT_PARALLEL_ABORT | XACT_EVENT_PREPARE
    ) {
        CURRENT.with(|c| *c.borrow_mut() = None);
        SIGNED_OUT.with(|s| s.borrow_mut().clear());
        policy::forget();
    }
}

unsafe extern "C-unwind" fn on_subtransaction_end(
    event: pg_sys::SubXactEvent::Type,
    my_subid: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event != pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        return;
    }
    // What the policies were told may rest on rows the savepoint wrote (its snapshot
    // changes too, when it wrote any; this does not depend on that).
    policy::forget();
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        // A sign-out inside the rolled-back savepoint is undone (the oldest one counts)...
        SIGNED_OUT.with(|s| {
            let mut s = s.borrow_mut();
            while s.last().is_some_and(|(sub, _)| *sub >= my_subid) {
                let (_, identity) = s.pop().expect("checked above");
                *c = Some(identity);
            }
        });
        // ...and then an identity established inside it is rolled back with it, also one
        // that a sign-out there had ended (else the savepoint's sign-in would survive it).
        while c.as_ref().is_some_and(|i| i.subtransaction >= my_subid) {
            let previous = c.as_mut().and_then(|i| i.previous.take());
            *c = previous.map(|b| *b);
        }
    });
}

pub fn register_callbacks() {
    // SAFETY: called once from _PG_init; the callbacks only touch this module's state.
    unsafe {
        pg_sys::RegisterXactCallback(Some(on_transaction_end), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(on_subtransaction_end), std::ptr::null_mut());
    }
}

/// A setting's value as text, or None when it is not set (no error either way).
fn setting(name: &CStr) -> Option<String> {
    // SAFETY: GetConfigOption with missing_ok returns NULL or a string PostgreSQL owns.
    unsafe {
        let value = pg_sys::GetConfigOption(name.as_ptr(), true, false);
        if value.is_null() {
            None
        } else {
            let s = CStr::from_ptr(value).to_string_lossy().into_owned();
            (!s.is_empty()).then_some(s)
        }
    }
}

thread_local! {
    /// The request claims last parsed, with the setting's text they came from: policies
    /// ask per row, and the text changes once per request.
    static REQUEST_CLAIMS: RefCell<Option<(Vec<u8>, Option<serde_json::Value>)>> = const { RefCell::new(None) };
}

/// `f` applied to the PostgREST/Supabase request claims, when a superuser said to trust them.
fn with_request_claims<T>(f: impl FnOnce(&serde_json::Value) -> T) -> Option<T> {
    if !settings::TRUST_REQUEST_CLAIMS.get() {
        return None;
    }
    // SAFETY: GetConfigOption with missing_ok returns NULL or a string PostgreSQL owns,
    // read here before anything can change the setting.
    let text = unsafe {
        let value = pg_sys::GetConfigOption(c"request.jwt.claims".as_ptr(), true, false);
        (!value.is_null()).then(|| CStr::from_ptr(value).to_bytes()).filter(|t| !t.is_empty())
    };
    let Some(text) = text else {
        // PostgREST before 9 set one setting per claim.
        let sub = setting(c"request.jwt.claim.sub")?;
        let role = setting(c"request.jwt.claim.role");
        return Some(f(&serde_json::json!({ "sub": sub, "role": role })));
    };
    REQUEST_CLAIMS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.as_ref().is_none_or(|(seen, _)| seen.as_slice() != text) {
            *cache = Some((text.to_vec(), serde_json::from_slice(text).ok()));
        }
        cache.as_ref().and_then(|(_, claims)| claims.as_ref()).map(f)
    })
}

/// The request claims, copied (jwt_claims()).
fn trusted_request_claims() -> Option<serde_json::Value> {
    with_request_claims(serde_json::Value::clone)
}

/// `vibecraft.postgrest_pre_request()`, PostgREST's `db-pre-request` function: where a
/// superuser trusts the request claims, the request's user is signed in from them for the
/// transaction, as authenticate() signs in a token's. On one server that changes nothing
/// (current_user_id() reads trusted claims anyway); on a Citus coordinator it hands the
/// sign-in to the workers, whose policies otherwise see no one: PostgREST sets the claims
/// with set_config(), which Citus does not pass on. Untrusted claims, or claims without a
/// user (anon), sign no one in.
#[pg_extern(volatile, parallel_restricted)]
fn postgrest_pre_request() {
    let Some(claims) = trusted_request_claims() else { return };
    let Some(user_id) = claims.get("sub").and_then(|s| s.as_str()).and_then(parse_uuid) else { return };
    let role = claims.get("role").and_then(|r| r.as_str()).map(str::to_string);
    let organization_id = jwt::organization_claim(&claims);
    establish(user_id, role, organization_id, claims);
}

/// A uuid claim: 32 hex digits, hyphens anywhere ignored (so only the plain form is
/// left for the uuid crate to parse: no braces, no urn: prefix).
pub fn parse_uuid(value: &str) -> Option<pgrx::Uuid> {
    let hex: String = value.chars().filter(|c| *c != '-').collect();
    uuid::Uuid::try_parse(&hex).ok().map(|u| pgrx::Uuid::from_bytes(u.into_bytes()))
}

/// The calling user's id, by the rules at the top of this module.
pub fn current_user() -> Option<pgrx::Uuid> {
    if let Some(user) = with_identity(|i| i.user_id) {
        return Some(user);
    }
    with_request_claims(|c| c.get("sub")?.as_str().and_then(parse_uuid)).flatten()
}

/// Whether the `role` claim of the caller's token is `role`.
fn token_role_is(role: &str) -> bool {
    if let Some(is) = with_identity(|i| i.role.as_deref() == Some(role)) {
        return is;
    }
    with_request_claims(|c| c.get("role").and_then(|r| r.as_str()) == Some(role)).unwrap_or(false)
}

/// Whether the caller signed in with a service API key that lacks the admin (or `*`)
/// scope: such a key does not carry its creator's admin rights.
pub fn key_lacks_admin_scope() -> bool {
    fn lacks(claims: &serde_json::Value) -> bool {
        // As jsonb's `claims ? 'api_key_id'` and `scopes ?| ARRAY['admin', '*']`.
        let admin = |s: &str| s == "admin" || s == "*";
        claims.get("api_key_id").is_some()
            && !match claims.get("scopes") {
                Some(serde_json::Value::Array(scopes)) => scopes.iter().any(|s| s.as_str().is_some_and(admin)),
                Some(serde_json::Value::Object(scopes)) => scopes.keys().any(|s| admin(s)),
                Some(serde_json::Value::String(scope)) => admin(scope),
                _ => false,
            }
    }
    with_identity(|i| lacks(&i.claims)).or_else(|| with_request_claims(lacks)).unwrap_or(false)
}

/// Whether the client acts as the backend: its role (login or SET ROLE, not a
/// SECURITY DEFINER owner) has the privileges of vibecraft_service, or its token
/// carries the `service_role` role, as Supabase service keys do.
pub fn caller_is_service() -> bool {
    // SAFETY: catalog lookups on the current session's roles.
    let by_role = unsafe {
        let service = pg_sys::get_role_oid(c"vibecraft_service".as_ptr(), true);
        service != pg_sys::InvalidOid && pg_sys::has_privs_of_role(pg_sys::GetOuterUserId(), service)
    };
    by_role || token_role_is("service_role")
}

/// `vibecraft.current_user_id()`: the calling user, or NULL when no one signed in.
#[pg_extern(stable, parallel_restricted)]
fn current_user_id() -> Option<pgrx::Uuid> {
    current_user()
}

/// `vibecraft.jwt_claims()`: the verified claims of the caller's token, or NULL.
#[pg_extern(stable, parallel_restricted)]
fn jwt_claims() -> Option<JsonB> {
    with_identity(|i| JsonB(i.claims.clone())).or_else(|| trusted_request_claims().map(JsonB))
}

/// `vibecraft.current_org_claim()`: the organization named by the caller's token.
/// (current_org_id() in SQL falls back to the user's own organization.)
#[pg_extern(stable, parallel_restricted)]
fn current_org_claim() -> Option<pgrx::Uuid> {
    if let Some(organization) = with_identity(|i| i.organization_id) {
        return organization;
    }
    with_request_claims(jwt::organization_claim).flatten()
}

/// `vibecraft.is_service()`: whether the caller acts as the backend (see caller_is_service).
#[pg_extern(stable, parallel_restricted)]
fn is_service() -> bool {
    caller_is_service()
}

/// `vibecraft.sign_out()`: forget the identity established in this transaction.
#[pg_extern(volatile, parallel_restricted)]
fn sign_out() -> bool {
    // SAFETY: a plain read of transaction state.
    let subtransaction = unsafe { pg_sys::GetCurrentSubTransactionId() };
    let ended = CURRENT.with(|c| c.borrow_mut().take());
    let was_signed_in = ended.is_some();
    if let Some(identity) = ended {
        // Only the oldest sign-out of a subtransaction is ever restored: later ones in the
        // same subtransaction are not kept (so repeated sign-outs cannot grow the list).
        SIGNED_OUT.with(|s| {
            let mut s = s.borrow_mut();
            if s.last().is_none_or(|(sub, _)| *sub != subtransaction) {
                s.push((subtransaction, identity));
            }
        });
    }
    if nodes::propagating() {
        nodes::propagate(None);
    }
    was_signed_in
}

/// `vibecraft.is_admin()` for the caller (policy.rs).
fn caller_is_admin() -> bool {
    policy::caller_is_admin()
}

/// A user may act for itself; the service role and admins for anyone.
/// Whether the caller may act for `user`: itself (when `self_allowed`), the service role
/// and admins for anyone.
pub fn may_act_for(user: pgrx::Uuid, self_allowed: bool) -> bool {
    if caller_is_service() {
        return true;
    }
    let caller = current_user();
    (self_allowed && caller == Some(user)) || (caller.is_some() && caller_is_admin())
}

pub fn require_may_act_for(function: &str, user: pgrx::Uuid, self_allowed: bool) {
    if caller_is_service() {
        return;
    }
    let caller = current_user();
    if self_allowed && caller == Some(user) {
        return;
    }
    if caller.is_some() && caller_is_admin() {
        return;
    }
    let what = if self_allowed { "only for yourself (or as the service role or an admin)" } else { "only as the service role or an admin" };
    raise(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("vibecraft.{function}: you may call this {what}"),
        Some(if caller.is_none() { "Sign in with vibecraft.authenticate(jwt) in the same transaction first." } else { "Ask the backend (service role) to do it." }),
    );
}

/// `vibecraft.require_may_act_for(function_name, user_uuid)`: the same rule for SQL
/// functions (statistics), so that every function answers "who may act for whom" alike.
#[pg_extern(stable, parallel_restricted, name = "require_may_act_for")]
fn require_may_act_for_sql(function_name: Option<&str>, user_uuid: Option<pgrx::Uuid>) {
    let function_name = function_name.unwrap_or("require_may_act_for");
    let Some(user) = user_uuid else { invalid_parameter(format!("vibecraft.{function_name}: user_uuid must not be NULL")) };
    require_may_act_for(function_name, user, true);
}
