//! Service API keys: `vc_live_<8 hex id>_<43 chars = 256 random bits>`, stored as their
//! SHA-256 only, with the visible prefix `vc_live_<id>` for display.
//!
//! Usage counting: a validation does not write. Each backend counts uses in memory and
//! hands them to a queue in shared memory
//!   * in the next validation once its oldest uncounted use is `FLUSH_AFTER_MS` old,
//!   * when the connection closes,
//!   * when `vibecraft.flush_api_key_usage()` runs (daily maintenance calls it);
//! a background worker of vibecraft's own (background.rs) then adds them to
//! `api_keys.usage_count` / `last_used_at` in a transaction of its own, skipping rows
//! that someone holds locked and trying those again for up to 30 s (then they wait for
//! the next flush).
//!
//! So no row lock is ever taken inside a caller's transaction: a client that validates
//! a key and keeps its transaction open pins nothing, and neither the service's
//! validation of the key nor its owner's revoke_api_key waits for it. Counts are exact
//! within about five seconds on a busy connection and once the connection closes or a
//! flush runs; a hot key validated by many clients never serialises on its row.
//! Without shared_preload_libraries there is no queue: the uses are then added in the
//! caller's transaction, as before 0.2.0 (a flush inside a transaction that aborts is
//! kept for later).
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
use std::collections::{HashMap, HashSet};
use std::ffi::CStr;

const FLUSH_AFTER_MS: i64 = 5000;
/// Pending (database, key) entries the shared queue holds; beyond that a backend keeps
/// its uses until there is room.
const QUEUE: usize = 16_384;
/// Most entries one flush writes.
const BATCH: usize = 1000;
/// A flush worker that has not reported for this long is presumed gone.
const WORKER_PRESUMED_GONE_MS: i64 = 60_000;
/// How long a flush worker keeps retrying uses of keys that someone holds locked, and its
/// first and longest pause between tries.
const LOCKED_RETRY_MS: i64 = 30_000;
const LOCKED_RETRY_FIRST_PAUSE_MS: u64 = 100;
const LOCKED_RETRY_MAX_PAUSE_MS: u64 = 2_000;

/// Uses of one key in one database waiting to be counted; `uses == 0` marks a free entry.
#[repr(C)]
#[derive(Clone, Copy)]
struct PendingUse {
    database: u32,
    key: [u8; 16],
    uses: i64,
    last: i64,
}

/// Databases with a flush worker running, and when it started (a worker connects to one
/// database, so each has its own).
const WORKERS: usize = 64;

#[repr(C)]
struct Queue {
    lock: *mut pg_sys::LWLock,
    workers: [(u32, i64); WORKERS],
    entries: [PendingUse; QUEUE],
}

impl Queue {
    /// Mark a worker for `database` as starting, unless one runs; false when one does.
    fn claim_worker(&mut self, database: u32, now: i64, even_if_running: bool) -> bool {
        let running = |w: &(u32, i64)| w.0 == database && w.1 != 0 && now - w.1 < WORKER_PRESUMED_GONE_MS * 1000;
        if !even_if_running && self.workers.iter().any(running) {
            return false;
        }
        let slot = self.workers.iter().position(|w| w.0 == database).unwrap_or_else(|| {
            // A free entry, else the one started longest ago.
            (0..WORKERS).min_by_key(|&i| self.workers[i].1).unwrap()
        });
        self.workers[slot] = (database, now);
        true
    }

    fn release_worker(&mut self, database: u32) {
        for w in self.workers.iter_mut().filter(|w| w.0 == database) {
            *w = (0, 0);
        }
    }

    fn has_pending(&self, database: u32, skip: &HashSet<[u8; 16]>) -> bool {
        self.entries.iter().any(|e| e.uses != 0 && e.database == database && !skip.contains(&e.key))
    }
}

static mut SHARED: *mut Queue = std::ptr::null_mut();
const TRANCHE: &CStr = c"vibecraft_api_key_usage";

/// The shared block's name and size, for shared_memory.rs.
pub fn shared_block() -> (&'static CStr, usize) {
    (TRANCHE, size_of::<Queue>())
}

/// Attach the queue (shared_memory.rs's startup hook).
pub unsafe fn attach(block: unsafe fn(&CStr, usize) -> (*mut u8, *mut pg_sys::LWLock, bool)) {
    // SAFETY: called from the startup hook under AddinShmemInitLock.
    unsafe {
        let (at, lock, fresh) = block(TRANCHE, size_of::<Queue>());
        let queue = at.cast::<Queue>();
        if fresh {
            (*queue).lock = lock;
        }
        SHARED = queue;
    }
}

/// The queue, locked, for the length of a closure.
fn with_queue<T>(f: impl FnOnce(&mut Queue) -> T) -> Option<T> {
    // SAFETY: SHARED is set by the startup hook in every process forked after it; the
    // lock guards the queue; nothing in `f` can raise an error.
    unsafe {
        let queue = SHARED;
        if queue.is_null() {
            return None;
        }
        pg_sys::LWLockAcquire((*queue).lock, pg_sys::LWLockMode::LW_EXCLUSIVE);
        let result = f(&mut *queue);
        pg_sys::LWLockRelease((*queue).lock);
        Some(result)
    }
}

fn database() -> u32 {
    // SAFETY: a plain read of the backend's database id.
    unsafe { pg_sys::MyDatabaseId }.to_u32()
}

/// Add uses to the queue; what does not fit is given back.
fn enqueue(database: u32, uses: HashMap<[u8; 16], (i64, i64)>) -> HashMap<[u8; 16], (i64, i64)> {
    with_queue(|q| {
        let mut left = HashMap::new();
        for (key, (n, t)) in uses {
            let entries = &mut q.entries;
            if let Some(e) = entries.iter_mut().find(|e| e.uses != 0 && e.database == database && e.key == key) {
                e.uses += n;
                e.last = e.last.max(t);
            } else if let Some(e) = entries.iter_mut().find(|e| e.uses == 0) {
                *e = PendingUse { database, key, uses: n, last: t };
            } else {
                left.insert(key, (n, t));
            }
        }
        left
    })
    .unwrap_or_default()
}

/// Take up to BATCH entries of one database off the queue, but none of `skip`.
fn take_batch(database: u32, skip: &HashSet<[u8; 16]>) -> Vec<PendingUse> {
    with_queue(|q| {
        let mut batch = Vec::new();
        for e in q.entries.iter_mut().filter(|e| e.uses != 0 && e.database == database && !skip.contains(&e.key)) {
            batch.push(*e);
            e.uses = 0;
            if batch.len() == BATCH {
                break;
            }
        }
        batch
    })
    .unwrap_or_default()
}

fn put_back(batch: &[PendingUse]) {
    let mut by_database: HashMap<u32, HashMap<[u8; 16], (i64, i64)>> = HashMap::new();
    for e in batch {
        by_database.entry(e.database).or_default().insert(e.key, (e.uses, e.last));
    }
    for (database, uses) in by_database {
        let left = enqueue(database, uses);
        if !left.is_empty() {
            pgrx::warning!("vibecraft: the API key usage queue is full; {} keys' uses were not counted", left.len());
        }
    }
}

/// Start a flush worker for this database unless one is running; `wait` waits for it.
/// False when no worker could be started.
fn start_flush_worker(wait: bool) -> bool {
    let database = database();
    let claimed = with_queue(|q| q.claim_worker(database, ids::now(), wait));
    match claimed {
        None => false,
        // One runs already: it drains the queue until nothing of this database is left.
        Some(false) => true,
        Some(true) => {
            let started = crate::background::start(crate::background::Job::FlushApiKeyUsage, wait);
            if !started {
                with_queue(|q| q.release_worker(database));
            }
            started
        }
    }
}

/// In the flush worker: count this database's queued uses, a batch at a time, each in a
/// transaction of the worker's own. Rows someone holds locked are skipped and their uses
/// go back to the queue; the worker tries them again, pausing longer each time, for up to
/// LOCKED_RETRY_MS (a revoke or an edit of the key commits within that), then leaves them
/// for the next flush. Returns how many uses were written.
pub fn flush_in_worker() -> i64 {
    let database = database();
    let started = ids::now();
    let mut pause_ms = LOCKED_RETRY_FIRST_PAUSE_MS;
    let mut written = 0;
    // Keys found locked in this round: their uses wait in the queue until the next round,
    // and this worker goes on with the others.
    let mut locked_keys = HashSet::new();
    loop {
        let batch = take_batch(database, &locked_keys);
        if !batch.is_empty() {
            let (counted, locked) = count_batch(&batch);
            written += batch.iter().filter(|e| counted.contains(&e.key)).map(|e| e.uses).sum::<i64>();
            // Uses of keys deleted in the meantime are dropped with them.
            let back: Vec<PendingUse> = batch.iter().filter(|e| locked.contains(&e.key)).copied().collect();
            put_back(&back);
            locked_keys.extend(locked);
        }
        // What next, decided under one lock with releasing the worker: a backend that
        // queues after a release sees no worker and starts one, and one that queues while
        // this worker pauses sees it running and leaves its uses to the next round.
        let giving_up = ids::now() - started >= LOCKED_RETRY_MS * 1000;
        let next = with_queue(|q| {
            if q.has_pending(database, &locked_keys) {
                Next::Batch
            } else if locked_keys.is_empty() || giving_up {
                q.release_worker(database);
                Next::Exit
            } else {
                q.claim_worker(database, ids::now(), true);
                Next::RetryLocked
            }
        })
        .unwrap_or(Next::Exit);
        match next {
            Next::Batch => {}
            Next::Exit => break,
            Next::RetryLocked => {
                // False on SIGTERM (a fast shutdown, DROP DATABASE ... FORCE): stop now.
                if !pgrx::bgworkers::BackgroundWorker::wait_latch(Some(std::time::Duration::from_millis(pause_ms))) {
                    with_queue(|q| q.release_worker(database));
                    break;
                }
                pause_ms = (pause_ms * 2).min(LOCKED_RETRY_MAX_PAUSE_MS);
                locked_keys.clear();
            }
        }
    }
    written
}

/// What a flush worker does after a batch.
enum Next {
    /// Count the next batch of queued uses.
    Batch,
    /// Pause, then try the uses of keys that were locked again.
    RetryLocked,
    Exit,
}

/// Count one batch in a transaction of its own: (keys counted, keys found locked). When
/// the transaction fails, every key of the batch counts as locked and is tried again.
fn count_batch(batch: &[PendingUse]) -> (Vec<[u8; 16]>, Vec<[u8; 16]>) {
    PgTryBuilder::new(|| {
        pgrx::bgworkers::BackgroundWorker::transaction(|| {
            let ids: Vec<pgrx::Uuid> = batch.iter().map(|e| pgrx::Uuid::from_bytes(e.key)).collect();
            let uses: Vec<i64> = batch.iter().map(|e| e.uses).collect();
            let last: Vec<pgrx::datum::TimestampWithTimeZone> = batch.iter().map(|e| timestamptz(e.last)).collect();
            count_unless_locked(ids, uses, last)
        })
    })
    .catch_others(|e| {
        // SAFETY: ends the failed transaction, as PostgreSQL's own workers do.
        unsafe { pg_sys::AbortCurrentTransaction() };
        pgrx::warning!("vibecraft: API key uses could not be counted now, will retry: {e:?}");
        (Vec::new(), batch.iter().map(|e| e.key).collect())
    })
    .execute()
}

/// Add uses to their keys, skipping rows someone holds locked: (ids counted, ids of keys
/// that exist but were locked). Ids of keys that no longer exist are in neither.
fn count_unless_locked(
    ids: Vec<pgrx::Uuid>,
    uses: Vec<i64>,
    last: Vec<pgrx::datum::TimestampWithTimeZone>,
) -> (Vec<[u8; 16]>, Vec<[u8; 16]>) {
    let counted: Vec<[u8; 16]> = COUNT_USES_UNLESS_LOCKED.run(&[ids.clone().into(), uses.into(), last.into()], |t| {
        t.filter_map(|row| row.get::<pgrx::Uuid>(1).ok().flatten().map(|u| *u.as_bytes())).collect()
    });
    let left: Vec<pgrx::Uuid> = ids.into_iter().filter(|id| !counted.contains(id.as_bytes())).collect();
    let locked = if left.is_empty() {
        Vec::new()
    } else {
        KEYS_THAT_EXIST.run(&[left.into()], |t| t.filter_map(|row| row.get::<pgrx::Uuid>(1).ok().flatten().map(|u| *u.as_bytes())).collect())
    };
    (counted, locked)
}

fn timestamptz(t: i64) -> pgrx::datum::TimestampWithTimeZone {
    // SAFETY: a TimestampTz is an int8 datum.
    unsafe { pgrx::datum::TimestampWithTimeZone::from_datum(pg_sys::Datum::from(t), false).unwrap() }
}

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

/// Add queued uses ($1 key ids, $2 uses, $3 last use, one element per key), skipping rows
/// someone holds locked; returns the ids counted.
static COUNT_USES_UNLESS_LOCKED: OwnerStatement = OwnerStatement {
    rights_of: API_KEYS,
    sql: "WITH u AS (
            SELECT * FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.uuid[]), pg_catalog.unnest($2::pg_catalog.int8[]),
                                    pg_catalog.unnest($3::pg_catalog.timestamptz[])) AS u(id, n, t)),
          unlocked AS (
            SELECT k.id FROM vibecraft.api_keys k WHERE k.id OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.uuid[])
               FOR NO KEY UPDATE SKIP LOCKED)
          UPDATE vibecraft.api_keys k
             SET usage_count = k.usage_count OPERATOR(pg_catalog.+) u.n, last_used_at = greatest(k.last_used_at, u.t)
            FROM u JOIN unlocked ON unlocked.id OPERATOR(pg_catalog.=) u.id
           WHERE k.id OPERATOR(pg_catalog.=) u.id
       RETURNING k.id",
    arg_types: &[UUID_ARRAY, INT8_ARRAY, TIMESTAMPTZ_ARRAY],
    access: Access::Write,
};

static KEYS_THAT_EXIST: OwnerStatement = OwnerStatement {
    rights_of: API_KEYS,
    sql: "SELECT k.id FROM vibecraft.api_keys k WHERE k.id OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.uuid[])",
    arg_types: &[UUID_ARRAY],
    access: Access::Read,
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

/// At backend exit, hand what is still buffered to the queue and its worker, or (with no
/// queue) count it in a transaction of its own.
unsafe extern "C-unwind" fn flush_at_exit(_code: std::ffi::c_int, _arg: pg_sys::Datum) {
    if hand_over() {
        start_flush_worker(false);
        // What the queue had no room for is counted below, rather than lost.
    }
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
        if hand_over() {
            start_flush_worker(false);
        } else {
            flush();
        }
    }
}

/// Move this backend's buffered uses to the shared queue; false when there is no queue
/// (vibecraft not in shared_preload_libraries). What does not fit stays buffered.
fn hand_over() -> bool {
    // SAFETY: a plain read of a pointer set at startup.
    if unsafe { SHARED.is_null() } {
        return false;
    }
    let batch = USAGE.with(|u| {
        let mut u = u.borrow_mut();
        u.oldest = None;
        std::mem::take(&mut u.counts)
    });
    if !batch.is_empty() {
        let left = enqueue(database(), batch);
        if !left.is_empty() {
            USAGE.with(|u| {
                let mut u = u.borrow_mut();
                merge(&mut u.counts, left);
                u.oldest.get_or_insert(ids::now());
            });
        }
    }
    true
}

/// Add the buffered counts to api_keys in the current transaction, skipping rows someone
/// holds locked (their uses stay buffered); returns how many uses were added. Runs with
/// the rights of the api_keys table's owner. Used when there is no shared queue, and at
/// exit for what the queue had no room for.
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
    let last: Vec<pgrx::datum::TimestampWithTimeZone> = batch.values().map(|(_, t)| timestamptz(*t)).collect();
    let (counted, locked) = count_unless_locked(ids, uses, last);
    let mut written = HashMap::new();
    let mut kept = HashMap::new();
    for (key, value) in batch {
        if counted.contains(&key) {
            written.insert(key, value);
        } else if locked.contains(&key) {
            kept.insert(key, value);
        }
    }
    let total = written.values().map(|(n, _)| *n).sum();
    USAGE.with(|u| {
        let mut u = u.borrow_mut();
        merge(&mut u.in_flight, written);
        if !kept.is_empty() {
            merge(&mut u.counts, kept);
            u.oldest.get_or_insert(ids::now());
        }
    });
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
    // A replica cannot write the count, and sends nothing to the primary: its uses go
    // uncounted (docs/scale-out.md).
    // SAFETY: a read of the server's recovery state.
    if reason.is_none() && !unsafe { pg_sys::RecoveryInProgress() } {
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

/// `vibecraft.flush_api_key_usage()`: count this connection's buffered key uses now:
/// hand them to the flush worker and wait for it; returns how many uses were handed over.
/// (With no queue, or no worker to be had, they are counted in this transaction.)
#[pg_extern(volatile, parallel_unsafe)]
fn flush_api_key_usage() -> i64 {
    let buffered: i64 = USAGE.with(|u| u.borrow().counts.values().map(|(n, _)| *n).sum());
    if hand_over() {
        if start_flush_worker(true) {
            return buffered;
        }
        // No worker slot free: take this database's queued uses back and count them here.
        let batch = take_batch(database(), &HashSet::new());
        USAGE.with(|u| {
            let mut u = u.borrow_mut();
            for e in &batch {
                let entry = u.counts.entry(e.key).or_insert((0, i64::MIN));
                entry.0 += e.uses;
                entry.1 = entry.1.max(e.last);
            }
        });
    }
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
