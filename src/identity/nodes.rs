//! The signed-in identity on every node of a Citus cluster.
//!
//! Citus runs the shard queries of a transaction in backends on the workers, which do not
//! share the coordinator backend's memory, where `authenticate()` keeps the identity. So
//! when Citus is loaded and the sign-in happens inside a transaction block, `establish`
//! also runs `SET LOCAL vibecraft.node_identity = '<assertion>'`, which Citus sends to
//! every worker connection of the transaction (with `citus.propagate_set_commands =
//! local`, which this module turns on for the transaction when it is off). A worker backend
//! that has no identity of its own verifies the assertion and acts as its user.
//!
//! The guarantees of the single-node identity hold:
//! - it cannot be forged with SET: the assertion is signed with a key derived from
//!   `vibecraft.jwt_secret` (which every node has), and anything else is refused (28000);
//!   it cannot be planted with ALTER ROLE/DATABASE or in a file (the setting's check hook);
//! - it ends with the transaction: SET LOCAL does, on the coordinator and on the workers,
//!   so a pooled connection (of a proxy, or Citus' own) carries nothing into the next one;
//! - it is honoured only for the database role it was signed for (the role Citus logs in
//!   as), in a connection named as Citus names those it opens for the signing backend
//!   (`citus_internal gpid=N`), and for at most five minutes.
//! What it cannot hide: Citus sends it to the workers as SQL text, which their
//! pg_stat_activity shows to sessions of the same role and to pg_read_all_stats, and
//! pg_stat_statements keeps. The role binding makes it useless to any other role; sessions
//! of one role can already read each other's SQL (docs/dba.md says why end users must not
//! share one), and the five minutes bound how long a kept copy works.
//! On a single server (no Citus) none of this runs: the setting stays empty.

use super::Identity;
use crate::errors::{internal, raise};
use crate::settings;
use crate::storage::{hmac_sha256, hmac_with, key_from_jwt_secret};
use hmac::Mac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pgrx::prelude::*;
use pgrx::pg_sys;
use std::cell::RefCell;
use std::ffi::{CStr, CString};

const VERSION: &str = "v1";
/// The key is derived from the JWT secret for this use only.
const KEY_LABEL: &[u8] = b"vibecraft node identity v1";
/// The longest an assertion is honoured, whatever the token's own expiry: a copy kept by
/// a worker's pg_stat_statements or statement log is useless after it. A transaction that
/// runs longer loses its identity on the workers (28000), never the other way round.
const MAX_SECONDS: i64 = 300;
/// What Citus names the connections it opens for a coordinator backend.
const CITUS_CONNECTION_PREFIX: &str = "citus_internal gpid=";

/// Whether Citus runs in this database: its library is loaded in this backend (it defines
/// this setting at load) and its extension is created here (a server that preloads Citus may
/// hold databases without it, where citus_backend_gpid() does not exist).
pub fn citus_in_this_database() -> bool {
    // SAFETY: GetConfigOption with missing_ok returns NULL or a string PostgreSQL owns;
    // get_extension_oid with missing_ok returns InvalidOid when there is none.
    unsafe {
        !pg_sys::GetConfigOption(c"citus.propagate_set_commands".as_ptr(), true, false).is_null()
            && pg_sys::get_extension_oid(c"citus".as_ptr(), true) != pg_sys::InvalidOid
    }
}

fn now_seconds() -> i64 {
    crate::ids::unix_micros(crate::ids::now()) / 1_000_000
}

fn signing_key() -> Option<[u8; 32]> {
    key_from_jwt_secret(KEY_LABEL)
}

/// This backend's Citus global process id, which names the connections Citus opens for it.
fn coordinator_gpid() -> Option<i64> {
    Spi::connect(|c| c.select("SELECT pg_catalog.citus_backend_gpid()::int8", Some(1), &[])?.first().get_one::<i64>())
        .ok()
        .flatten()
}

/// Run one utility statement through SPI without taking a transaction id (pgrx's
/// Spi::run would take one: a WAL record per sign-in, and an error on a replica). It must
/// go through ProcessUtility, not set_config(), for Citus to propagate it.
fn run_utility(statement: &str) {
    let statement = CString::new(statement).expect("the statement has no NUL byte");
    // SAFETY: a balanced SPI_connect/SPI_finish around one statement; errors are raised
    // by PostgreSQL (and unwind through pgrx's guard) with SPI cleaned up at abort.
    let rc = unsafe {
        pg_sys::SPI_connect();
        let rc = pg_sys::SPI_execute(statement.as_ptr(), false, 0);
        pg_sys::SPI_finish();
        rc
    };
    if rc < 0 {
        internal(format!("vibecraft.authenticate: handing the sign-in to the Citus workers failed (SPI code {rc})"));
    }
}

/// Whether a sign-in here must be handed to workers: Citus is loaded and this is a
/// transaction block (outside one, a single statement's shard queries see no identity on
/// the workers: sign in inside BEGIN ... COMMIT, as PostgREST's requests are).
pub fn propagating() -> bool {
    // SAFETY: a plain read of transaction state.
    (unsafe { pg_sys::IsTransactionBlock() }) && citus_in_this_database()
}

/// Called when an identity is established or cleared, where `propagating()`: hand it to
/// the workers of this transaction (see the module comment).
pub fn propagate(identity: Option<&Identity>) {
    let assertion = match identity {
        None => String::new(),
        Some(identity) => match (signing_key(), coordinator_gpid(), current_role_name()) {
            (Some(key), Some(gpid), Some(role)) => sign(&key, identity, Binding { gpid, role }),
            // Without a secret nothing was signed in; without a gpid Citus is not set up.
            _ => String::new(),
        },
    };
    // SAFETY: GetConfigOption with missing_ok returns NULL or a string PostgreSQL owns.
    let propagating = unsafe {
        let value = pg_sys::GetConfigOption(c"citus.propagate_set_commands".as_ptr(), true, false);
        !value.is_null() && CStr::from_ptr(value).to_bytes() == b"local"
    };
    if !propagating {
        run_utility("SET LOCAL citus.propagate_set_commands = 'local'");
    }
    // The assertion is base64url and dots only: nothing to quote.
    run_utility(&format!("SET LOCAL vibecraft.node_identity = '{assertion}'"));
}

fn sign(key: &[u8], identity: &Identity, binding: Binding) -> String {
    let token_exp = identity.claims.get("exp").and_then(|e| e.as_i64());
    let exp = (now_seconds() + MAX_SECONDS).min(token_exp.unwrap_or(i64::MAX));
    let payload = serde_json::json!({
        "sub": identity.user_id.to_string(),
        "role": identity.role,
        "org": identity.organization_id.map(|o| o.to_string()),
        "claims": identity.claims,
        "gpid": binding.gpid,
        "db_role": binding.role,
        "exp": exp,
    });
    let body = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(payload.to_string()));
    let tag = URL_SAFE_NO_PAD.encode(hmac_sha256(key, body.as_bytes()));
    format!("{body}.{tag}")
}

fn refuse(why: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        format!("vibecraft.node_identity: {why}"),
        Some("The setting carries a sign-in from a Citus coordinator to its workers; it is set by vibecraft.authenticate(), never by hand."),
    )
}

/// What binds an assertion to the connection reading it: the coordinator backend Citus
/// names in `application_name`, and the database role Citus connects as (by name: role
/// oids differ between nodes).
struct Binding {
    gpid: i64,
    role: String,
}

/// The gpid of the coordinator backend this connection serves, when it is named as Citus
/// names its connections.
fn connection_gpid() -> Option<i64> {
    // SAFETY: application_name is PostgreSQL's own string setting.
    let name = unsafe {
        let name = pg_sys::application_name;
        if name.is_null() { return None } else { CStr::from_ptr(name).to_str().ok()? }
    };
    name.strip_prefix(CITUS_CONNECTION_PREFIX)?.trim().parse::<i64>().ok()
}

/// The current role's name, which the workers' connections of this transaction log in as.
fn current_role_name() -> Option<String> {
    // SAFETY: GetUserNameFromId with noerr returns NULL or a palloc'd name.
    unsafe {
        let role = pg_sys::GetUserNameFromId(pg_sys::GetUserId(), true);
        (!role.is_null()).then(|| CStr::from_ptr(role).to_string_lossy().into_owned())
    }
}

/// A verified assertion, with its role resolved on this node once.
struct Verified {
    text: String,
    identity: Identity,
    gpid: i64,
    /// InvalidOid when the role it names does not exist here: then nothing matches it.
    role: pg_sys::Oid,
    exp: i64,
}

thread_local! {
    /// The last assertion whose signature was verified in this backend, and what it said:
    /// policies without subqueries ask for the identity per row. The binding and the expiry
    /// are checked on every call, against the connection as it is then.
    static VERIFIED: RefCell<Option<Verified>> = const { RefCell::new(None) };
}

/// `f` applied to the identity a coordinator propagated to this backend, verified; None
/// when the setting is empty (always, on a single server).
pub fn propagated_with<T>(f: impl FnOnce(&Identity) -> T) -> Option<T> {
    settings::with_configured(&settings::NODE_IDENTITY, |value| {
        let value = std::str::from_utf8(value?).unwrap_or_else(|_| refuse("not a signed identity"));
        Some(verified(value, f))
    })
}

fn verified<T>(value: &str, f: impl FnOnce(&Identity) -> T) -> T {
    let cached = VERIFIED.with(|v| v.borrow().as_ref().is_some_and(|v| v.text == value));
    if !cached {
        let (identity, binding, exp) = verify_signature(value);
        let role = CString::new(binding.role).map_or(pg_sys::InvalidOid, |name| {
            // SAFETY: get_role_oid with missing_ok returns InvalidOid for an unknown role.
            unsafe { pg_sys::get_role_oid(name.as_ptr(), true) }
        });
        let verified = Verified { text: value.to_string(), identity, gpid: binding.gpid, role, exp };
        VERIFIED.with(|v| *v.borrow_mut() = Some(verified));
    }
    // Copied out, so that no borrow is held when an error is raised.
    let (gpid, role, exp) = VERIFIED.with(|v| {
        let v = v.borrow();
        let v = v.as_ref().expect("verified above");
        (v.gpid, v.role, v.exp)
    });
    if connection_gpid() != Some(gpid) {
        refuse("the signed identity belongs to another session");
    }
    // SAFETY: a plain read of the session's current user, and a catalog lookup of it.
    let (current, superuser) = unsafe {
        let current = pg_sys::GetUserId();
        (current, pg_sys::superuser_arg(current))
    };
    // vibecraft's own owner-rights statements in the signed-in user's transaction (a
    // shard's triggers under create_order, say) reach the workers over connections as the
    // owner of its tables: the identity holds there too. That grants nothing: the owner's
    // role passes the policies anyway, and a superuser could set the value itself.
    let as_owner = superuser || current == crate::owner_rights::owner_of(c"vibecraft", c"users");
    if role == pg_sys::InvalidOid || (role != current && !as_owner) {
        refuse("the signed identity was signed for another database role");
    }
    let now = now_seconds();
    if now >= exp {
        refuse("the signed identity has expired; sign in again");
    }
    if exp > now + MAX_SECONDS + 60 {
        refuse("the signed identity claims a longer life than a coordinator signs for");
    }
    VERIFIED.with(|v| f(&v.borrow().as_ref().expect("verified above").identity))
}

/// The signature and the payload (the parts that do not depend on the connection).
fn verify_signature(value: &str) -> (Identity, Binding, i64) {
    let Some(key) = signing_key() else { refuse("no vibecraft.jwt_secret is configured on this node") };
    let (body, tag) = value.rsplit_once('.').unwrap_or_else(|| refuse("not a signed identity"));
    let tag = URL_SAFE_NO_PAD.decode(tag).unwrap_or_else(|_| refuse("not a signed identity"));
    if !body.starts_with("v1.") || hmac_with(&key, body.as_bytes()).verify_slice(&tag).is_err() {
        refuse("the signature does not match this cluster's JWT secret");
    }
    let payload = URL_SAFE_NO_PAD.decode(&body[3..]).ok().and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok());
    let Some(payload) = payload else { refuse("not a signed identity") };
    let binding = match (payload.get("gpid").and_then(|g| g.as_i64()), payload.get("db_role").and_then(|r| r.as_str())) {
        (Some(gpid), Some(role)) => Binding { gpid, role: role.to_string() },
        _ => refuse("not a signed identity"),
    };
    let user_id = payload.get("sub").and_then(|s| s.as_str()).and_then(super::parse_uuid);
    let Some(user_id) = user_id else { refuse("not a signed identity") };
    let identity = Identity {
        user_id,
        role: payload.get("role").and_then(|r| r.as_str()).map(str::to_string),
        organization_id: payload.get("org").and_then(|o| o.as_str()).and_then(super::parse_uuid),
        claims: payload.get("claims").cloned().unwrap_or(serde_json::Value::Null),
        subtransaction: 0,
        previous: None,
    };
    (identity, binding, payload.get("exp").and_then(|e| e.as_i64()).unwrap_or(0))
}
