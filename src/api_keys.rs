//! Service API keys: `vc_live_<8 hex id>_<43 chars = 256 random bits>`, stored as their
//! SHA-256 only, with the visible prefix `vc_live_<id>` for display.
//!
//! Usage counting: a validation does not write. Each backend counts uses in memory and
//! adds them to `api_keys.usage_count` / `last_used_at`
//!   * in the next validation once its oldest uncounted use is `FLUSH_AFTER_MS` old,
//!   * when the connection closes (one short transaction at backend exit),
//!   * when `vibecraft.flush_api_key_usage()` runs (daily maintenance calls it).
//!
//! So counts are exact within about five seconds on a busy connection and exact once the
//! connection closes or a flush runs; a hot key validated by many clients never
//! serialises on its row. A flush inside a transaction that aborts is kept for later.
//!
//! Both the lookup and the count run with the rights of the owner of vibecraft.api_keys
//! (owner_rights.rs), so validation works for callers who may not read or write other
//! users' keys; hence both statements are search_path-proof.

use crate::errors::{invalid_parameter, raise};
use crate::identity;
use crate::ids;
use crate::owner_rights::types::{BYTEA, INT8_ARRAY, TIMESTAMPTZ_ARRAY, UUID_ARRAY};
use crate::owner_rights::{Access, OwnerStatement};
use pgrx::prelude::*;
use pgrx::pg_sys;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;

const FLUSH_AFTER_MS: i64 = 5000;

#[derive(Default)]
struct UsageBuffer {
    /// key id -> (uses, last use as TimestampTz)
    counts: HashMap<[u8; 16], (i64, i64)>,
    /// When the oldest use in `counts` happened.
    oldest: Option<i64>,
    /// Counts written by a flush in the current transaction, returned on abort.
    in_flight: HashMap<[u8; 16], (i64, i64)>,
    callbacks_registered: bool,
}

thread_local! {
    static USAGE: RefCell<UsageBuffer> = RefCell::new(UsageBuffer::default());
}

const API_KEYS: (&CStr, &CStr) = (c"vibecraft", c"api_keys");

/// A key by its hash. Read-only: a validation takes no transaction id.
static LOOKUP: OwnerStatement = OwnerStatement {
    rights_of: API_KEYS,
    sql: "SELECT k.id, k.user_id, k.organization_id, k.scopes,
                 (k.revoked_at IS NOT NULL OR NOT k.is_active) AS revoked,
                 (k.expires_at IS NOT NULL AND k.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()) AS expired
            FROM vibecraft.api_keys k WHERE k.key_hash OPERATOR(pg_catalog.=) $1",
    arg_types: &[BYTEA],
    access: Access::Read,
};

/// Add buffered uses: ($1 key ids, $2 uses, $3 last use), one element per key.
static COUNT_USES: OwnerStatement = OwnerStatement {
    rights_of: API_KEYS,
    sql: "UPDATE vibecraft.api_keys k
             SET usage_count = k.usage_count OPERATOR(pg_catalog.+) u.n, last_used_at = greatest(k.last_used_at, u.t)
            FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.uuid[]), pg_catalog.unnest($2::pg_catalog.int8[]),
                           pg_catalog.unnest($3::pg_catalog.timestamptz[])) AS u(id, n, t)
           WHERE k.id OPERATOR(pg_catalog.=) u.id",
    arg_types: &[UUID_ARRAY, INT8_ARRAY, TIMESTAMPTZ_ARRAY],
    access: Access::Write,
};

fn merge(into: &mut HashMap<[u8; 16], (i64, i64)>, from: HashMap<[u8; 16], (i64, i64)>) {
    for (k, (n, t)) in from {
        let e = into.entry(k).or_insert((0, i64::MIN));
        e.0 += n;
        e.1 = e.1.max(t);
    }
}

unsafe extern "C-unwind" fn on_transaction_end(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    use pg_sys::XactEvent::*;
    USAGE.with(|u| {
        let mut u = u.borrow_mut();
        match event {
            XACT_EVENT_COMMIT | XACT_EVENT_PARALLEL_COMMIT | XACT_EVENT_PREPARE => u.in_flight.clear(),
            XACT_EVENT_ABORT | XACT_EVENT_PARALLEL_ABORT => {
                let back = std::mem::take(&mut u.in_flight);
                if !back.is_empty() {
                    merge(&mut u.counts, back);
                    u.oldest.get_or_insert(i64::MIN);
                }
            }
            _ => {}
        }
    });
}

/// At backend exit, count what is still buffered, in a transaction of its own.
unsafe extern "C-unwind" fn flush_at_exit(_code: std::ffi::c_int, _arg: pg_sys::Datum) {
    let pending = USAGE.with(|u| !u.borrow().counts.is_empty());
    // SAFETY: plain reads of transaction state.
    if !pending || unsafe { pg_sys::IsTransactionOrTransactionBlock() } {
        return;
    }
    PgTryBuilder::new(|| unsafe {
        pg_sys::StartTransactionCommand();
        // SPI needs a snapshot, which a statement would normally have set up.
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
        flush();
        pg_sys::PopActiveSnapshot();
        pg_sys::CommitTransactionCommand();
    })
    .catch_others(|e| unsafe {
        pg_sys::AbortCurrentTransaction();
        warning!("vibecraft: API key uses of this connection could not be counted at exit: {e:?}");
    })
    .execute();
}

fn register_callbacks_once() {
    USAGE.with(|u| {
        let mut u = u.borrow_mut();
        if !u.callbacks_registered {
            // SAFETY: registered once per backend; they only touch this module's state.
            unsafe {
                pg_sys::RegisterXactCallback(Some(on_transaction_end), std::ptr::null_mut());
                pg_sys::before_shmem_exit(Some(flush_at_exit), pg_sys::Datum::from(0));
            }
            u.callbacks_registered = true;
        }
    });
}

fn record_use(key_id: [u8; 16]) {
    register_callbacks_once();
    let t = ids::now();
    let due = USAGE.with(|u| {
        let mut u = u.borrow_mut();
        let e = u.counts.entry(key_id).or_insert((0, i64::MIN));
        e.0 += 1;
        e.1 = e.1.max(t);
        let oldest = *u.oldest.get_or_insert(t);
        t.saturating_sub(oldest) >= FLUSH_AFTER_MS * 1000
    });
    if due {
        flush();
    }
}

/// Add the buffered counts to api_keys in the current transaction; returns how many
/// uses were added. Runs with the rights of the api_keys table's owner.
fn flush() -> i64 {
    let batch = USAGE.with(|u| {
        let mut u = u.borrow_mut();
        u.oldest = None;
        std::mem::take(&mut u.counts)
    });
    if batch.is_empty() {
        return 0;
    }
    let ids: Vec<pgrx::Uuid> = batch.keys().map(|k| pgrx::Uuid::from_bytes(*k)).collect();
    let uses: Vec<i64> = batch.values().map(|(n, _)| *n).collect();
    let last: Vec<pgrx::datum::TimestampWithTimeZone> = batch
        .values()
        .map(|(_, t)| unsafe { pgrx::datum::TimestampWithTimeZone::from_datum(pg_sys::Datum::from(*t), false).unwrap() })
        .collect();
    let total: i64 = uses.iter().sum();
    COUNT_USES.run(&[ids.into(), uses.into(), last.into()], |_| ());
    USAGE.with(|u| merge(&mut u.borrow_mut().in_flight, batch));
    total
}

fn sha256(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// What validate_api_key found.
pub struct Validation {
    pub valid: bool,
    pub key_id: Option<pgrx::Uuid>,
    pub user_id: Option<pgrx::Uuid>,
    pub organization_id: Option<pgrx::Uuid>,
    pub scopes: Option<Vec<String>>,
    pub reason: Option<&'static str>,
}

pub fn validate(api_key: &str, required_scope: Option<&str>) -> Validation {
    let unknown = Validation { valid: false, key_id: None, user_id: None, organization_id: None, scopes: None, reason: Some("unknown") };
    if !api_key.starts_with("vc_") || api_key.len() > 200 {
        return unknown;
    }
    let hash = sha256(api_key);
    // As the owner of api_keys: the lookup sees every key.
    let row = LOOKUP.run(&[hash.as_slice().into()], |table| {
        let row = table.first();
        if row.is_empty() {
            return None;
        }
        Some((
            row.get::<pgrx::Uuid>(1).ok()?,
            row.get::<pgrx::Uuid>(2).ok()?,
            row.get::<pgrx::Uuid>(3).ok()?,
            row.get::<Vec<String>>(4).ok()?,
            row.get::<bool>(5).ok()?,
            row.get::<bool>(6).ok()?,
        ))
    });
    let Some((Some(key_id), user_id, organization_id, scopes, Some(revoked), Some(expired))) = row else {
        return unknown;
    };
    let scopes = scopes.unwrap_or_default();
    let reason = if revoked {
        Some("revoked")
    } else if expired {
        Some("expired")
    } else if required_scope.is_some_and(|s| !scopes.iter().any(|have| have == s || have == "*")) {
        Some("missing_scope")
    } else {
        None
    };
    if reason.is_none() {
        record_use(*key_id.as_bytes());
    }
    Validation { valid: reason.is_none(), key_id: Some(key_id), user_id, organization_id, scopes: Some(scopes), reason }
}

/// `vibecraft.validate_api_key(api_key, required_scope)`: one row saying whether the key
/// is valid, whose it is and, when not valid, why (unknown, revoked, expired,
/// missing_scope). A valid use is counted (see the module comment for when).
#[pg_extern(volatile, parallel_unsafe)]
fn validate_api_key(
    api_key: Option<&str>,
    required_scope: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(valid, bool),
        name!(key_id, Option<pgrx::Uuid>),
        name!(user_id, Option<pgrx::Uuid>),
        name!(organization_id, Option<pgrx::Uuid>),
        name!(scopes, Option<Vec<String>>),
        name!(reason, Option<String>),
    ),
> {
    let v = validate(api_key.unwrap_or(""), required_scope);
    TableIterator::once((v.valid, v.key_id, v.user_id, v.organization_id, v.scopes, v.reason.map(str::to_string)))
}

/// `vibecraft.authenticate_api_key(key)`: sign in as the key's owner for the rest of the
/// transaction, with the key's organization and scopes in the claims.
#[pg_extern(volatile, parallel_unsafe)]
fn authenticate_api_key(api_key: Option<&str>) -> pgrx::Uuid {
    let v = validate(api_key.unwrap_or(""), None);
    match (v.valid, v.user_id) {
        (true, Some(user_id)) => {
            let claims = serde_json::json!({
                "sub": user_id.to_string(),
                "role": "authenticated",
                "api_key_id": v.key_id.map(|k| k.to_string()),
                "organization_id": v.organization_id.map(|o| o.to_string()),
                "scopes": v.scopes,
            });
            identity::establish(user_id, Some("authenticated".into()), v.organization_id, claims);
            user_id
        }
        _ => raise(
            PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            format!("vibecraft.authenticate_api_key: the API key is {}", v.reason.unwrap_or("unknown")),
            Some("Create a new key with vibecraft.create_api_key()."),
        ),
    }
}

/// `vibecraft.flush_api_key_usage()`: add this backend's buffered key uses to api_keys now.
#[pg_extern(volatile, parallel_unsafe)]
fn flush_api_key_usage() -> i64 {
    flush()
}

/// `vibecraft.new_api_key_secret(environment)`: a fresh key `vc_<env>_<8 hex>_<43 chars>`.
/// Internal to create_api_key; granted to no one.
#[pg_extern(volatile, parallel_safe)]
fn new_api_key_secret(environment: default!(&str, "'live'")) -> String {
    if !matches!(environment, "live" | "test") {
        invalid_parameter("vibecraft: an API key environment is 'live' or 'test'");
    }
    let mut random = [0u8; 36];
    ids::strong_random(&mut random);
    use base64::Engine;
    let id = u32::from_be_bytes([random[0], random[1], random[2], random[3]]);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&random[4..]);
    format!("vc_{environment}_{id:08x}_{secret}")
}

/// `vibecraft.api_key_prefix(key)`: the visible part of a key, `vc_<env>_<id>`.
#[pg_extern(immutable, parallel_safe)]
fn api_key_prefix(api_key: &str) -> Option<String> {
    let mut parts = api_key.splitn(4, '_');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("vc"), Some(env), Some(id)) => Some(format!("vc_{env}_{id}")),
        _ => None,
    }
}
