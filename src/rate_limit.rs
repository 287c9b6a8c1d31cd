//! Rate limiting in shared memory: `check_rate_limit` (per user and action),
//! `check_api_key_rate_limit` (per key, from `api_keys.rate_limit_per_minute`) and
//! `check_provider_rate_limit` (per user and provider, from the providers table).
//!
//! The guarantee: for one subject and action, in any interval of length `time_window`,
//! at most `limit_count` calls are admitted. Each (subject, action, window) has a slot
//! holding admission counts for the last 17 sub-windows of length `time_window / 16`;
//! a call is admitted only when the sub-windows that any interval of length
//! `time_window` ending now can touch hold fewer than `limit_count`. So the limit is
//! never exceeded; the price is that a client running flat out can be held to
//! `limit_count` per `time_window * 17/16` at worst. The cost of a call is fixed
//! (17 counters), whatever the limit and however many calls were made.
//!
//! Counts live outside any transaction: an admitted call stays counted when the
//! caller's transaction rolls back, so failing and retrying buys no extra attempts.
//! A refused call counts nothing. The state is bounded (`vibecraft.rate_limit_slots`
//! slots, a fixed block of shared memory); a slot whose counts have all aged out is
//! reused. The state does not survive a server restart: limits start afresh.
//! When every slot a key may use is busy the call fails closed with SQLSTATE 53400.
//!
//! One LWLock guards the table; a call holds it for about a microsecond.
//!
//! The functions run as the caller (not SECURITY DEFINER): they check who may act for
//! whom, and read a key's or a provider's limits with the owner's rights
//! (owner_rights.rs), so a caller is told "no such key" only when there is none.

use crate::errors::{invalid_parameter as invalid, raise};
use crate::identity;
use crate::ids;
use crate::owner_rights::types::{TEXT, UUID};
use crate::owner_rights::{Access, OwnerStatement};
use pgrx::prelude::*;
use pgrx::{pg_sys, GucContext, GucFlags, GucRegistry, GucSetting, PgSqlErrorCode};
use std::hash::{Hash, Hasher};

/// How many sub-windows a window is cut into; the slack of the guarantee is 1/SUB_WINDOWS.
const SUB_WINDOWS: i64 = 16;
/// Counters per slot: the current sub-window and the SUB_WINDOWS before it.
const COUNTERS: usize = SUB_WINDOWS as usize + 1;
/// How many consecutive slots a key may live in (open addressing, no tombstones).
const PROBE: usize = 16;
/// Windows longer than this are refused (the state would not be "recent" any more).
const MAX_WINDOW_MICROS: i128 = 366 * 86_400 * 1_000_000;

/// Slots in the shared table; a postmaster setting, fixed at server start.
pub static RATE_LIMIT_SLOTS: GucSetting<i32> = GucSetting::<i32>::new(32_768);

/// What a slot limits: kinds keep a user's action apart from a key or provider limit.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
enum Kind {
    UserAction = 1,
    ApiKey = 2,
    Provider = 3,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Slot {
    subject: [u8; 16],
    action_hash: u64,
    /// Length of a sub-window in microseconds; 0 marks a slot never used.
    sub_window: i64,
    /// The sub-window the counters were last rolled to.
    last_index: i64,
    database: u32,
    kind: u32,
    counts: [u32; COUNTERS],
}

#[repr(C)]
struct Table {
    lock: *mut pg_sys::LWLock,
    slots: usize,
    admitted: u64,
    refused: u64,
    full: u64,
    // `slots` Slot values follow.
}

static mut TABLE: *mut Table = std::ptr::null_mut();
static mut PREV_SHMEM_REQUEST_HOOK: pg_sys::shmem_request_hook_type = None;
static mut PREV_SHMEM_STARTUP_HOOK: pg_sys::shmem_startup_hook_type = None;
const TRANCHE: &std::ffi::CStr = c"vibecraft_rate_limit";

fn table_bytes(slots: usize) -> usize {
    size_of::<Table>() + slots * size_of::<Slot>()
}

/// Called from _PG_init when loaded through shared_preload_libraries.
pub fn register() {
    GucRegistry::define_int_guc(
        c"vibecraft.rate_limit_slots",
        c"Slots in the shared rate-limit table (one per active subject, action and window).",
        c"About 112 bytes each; takes effect at server start.",
        &RATE_LIMIT_SLOTS,
        1_024,
        16_777_216,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    // SAFETY: _PG_init runs once in the postmaster, before any hook is called.
    unsafe {
        PREV_SHMEM_REQUEST_HOOK = pg_sys::shmem_request_hook;
        pg_sys::shmem_request_hook = Some(request_shared_memory);
        PREV_SHMEM_STARTUP_HOOK = pg_sys::shmem_startup_hook;
        pg_sys::shmem_startup_hook = Some(attach_shared_memory);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn request_shared_memory() {
    // SAFETY: called by PostgreSQL in the postmaster while shared memory is sized.
    unsafe {
        if let Some(previous) = PREV_SHMEM_REQUEST_HOOK {
            previous();
        }
        pg_sys::RequestAddinShmemSpace(table_bytes(RATE_LIMIT_SLOTS.get() as usize));
        pg_sys::RequestNamedLWLockTranche(TRANCHE.as_ptr(), 1);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn attach_shared_memory() {
    // SAFETY: called by PostgreSQL once shared memory exists; AddinShmemInitLock
    // serialises the first initialisation, as PostgreSQL's own modules do.
    unsafe {
        if let Some(previous) = PREV_SHMEM_STARTUP_HOOK {
            previous();
        }
        let slots = RATE_LIMIT_SLOTS.get() as usize;
        let init_lock = &raw mut (*pg_sys::MainLWLockArray.add(21)).lock;
        pg_sys::LWLockAcquire(init_lock, pg_sys::LWLockMode::LW_EXCLUSIVE);
        let mut found = false;
        let table = pg_sys::ShmemInitStruct(TRANCHE.as_ptr(), table_bytes(slots), &mut found).cast::<Table>();
        if !found {
            std::ptr::write_bytes(table.cast::<u8>(), 0, table_bytes(slots));
            (*table).lock = &raw mut (*pg_sys::GetNamedLWLockTranche(TRANCHE.as_ptr())).lock;
            (*table).slots = slots;
        }
        TABLE = table;
        pg_sys::LWLockRelease(init_lock);
    }
}

/// One limit to check: `limit` admissions per `window` microseconds.
struct Limit<'a> {
    kind: Kind,
    subject: pgrx::Uuid,
    action: &'a str,
    limit: i64,
    window: i64,
}

impl Limit<'_> {
    fn sub_window(&self) -> i64 {
        // Ceiling, so SUB_WINDOWS sub-windows always cover the whole window.
        ((self.window + SUB_WINDOWS - 1) / SUB_WINDOWS).max(1)
    }

    fn action_hash(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.kind.hash(&mut h);
        self.action.hash(&mut h);
        h.finish()
    }
}

enum Outcome {
    Admitted,
    Refused,
    Full,
}

/// The locked table, as a slice of slots.
struct Locked {
    table: *mut Table,
}

impl Locked {
    fn acquire() -> Locked {
        // SAFETY: TABLE is set by the shmem startup hook in every process forked after it.
        let table = unsafe { TABLE };
        if table.is_null() {
            raise(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "vibecraft rate limits need vibecraft in shared_preload_libraries",
                Some("Add vibecraft to shared_preload_libraries in postgresql.conf and restart the server."),
            );
        }
        // SAFETY: the lock lives in shared memory for the life of the server.
        unsafe { pg_sys::LWLockAcquire((*table).lock, pg_sys::LWLockMode::LW_EXCLUSIVE) };
        Locked { table }
    }

    fn header(&mut self) -> &mut Table {
        // SAFETY: exclusive lock held.
        unsafe { &mut *self.table }
    }

    fn slots(&mut self) -> &mut [Slot] {
        // SAFETY: the slots follow the header; exclusive lock held.
        unsafe {
            let first = self.table.add(1).cast::<Slot>();
            std::slice::from_raw_parts_mut(first, (*self.table).slots)
        }
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: acquired in `acquire`. During error unwinding PostgreSQL's abort
        // releases every LWLock itself, so only release when not unwinding.
        unsafe {
            if !std::thread::panicking() {
                pg_sys::LWLockRelease((*self.table).lock);
            }
        }
    }
}

/// Bring a slot's counters forward to sub-window `now_index`, zeroing those that passed.
fn roll(slot: &mut Slot, now_index: i64) {
    let behind = now_index - slot.last_index;
    if behind <= 0 {
        return; // same sub-window, or the clock stepped back: keep the counts
    }
    if behind >= COUNTERS as i64 {
        slot.counts = [0; COUNTERS];
    } else {
        for step in 1..=behind {
            slot.counts[((slot.last_index + step).rem_euclid(COUNTERS as i64)) as usize] = 0;
        }
    }
    slot.last_index = now_index;
}

fn is_free(slot: &mut Slot, now: i64) -> bool {
    if slot.sub_window == 0 {
        return true;
    }
    roll(slot, now.div_euclid(slot.sub_window));
    slot.counts.iter().all(|&c| c == 0)
}

/// Admit one call against every limit, or none: all limits must have room.
fn admit(limits: &[Limit]) -> Outcome {
    let database = unsafe { pg_sys::MyDatabaseId }.to_u32();
    let now = ids::now();
    let mut table = Locked::acquire();
    let n = table.header().slots;
    let mut chosen = [usize::MAX; 2];
    let mut room = true;
    for (i, limit) in limits.iter().enumerate() {
        let sub_window = limit.sub_window();
        let action_hash = limit.action_hash();
        let subject = *limit.subject.as_bytes();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (database, action_hash, subject, sub_window).hash(&mut h);
        let start = (h.finish() % n as u64) as usize;
        let slots = table.slots();
        let mut found = None;
        let mut free = None;
        for p in 0..PROBE {
            let at = (start + p) % n;
            let s = &slots[at];
            if s.sub_window == sub_window && s.action_hash == action_hash && s.subject == subject && s.database == database && s.kind == limit.kind as u32 {
                found = Some(at);
                break;
            }
            if free.is_none() && !chosen.contains(&at) && is_free(&mut slots[at], now) {
                free = Some(at);
            }
        }
        let at = match found.or(free) {
            Some(at) => at,
            None => {
                table.header().full += 1;
                return Outcome::Full;
            }
        };
        let slot = &mut slots[at];
        if found.is_none() {
            *slot = Slot {
                subject,
                action_hash,
                sub_window,
                last_index: now.div_euclid(sub_window),
                database,
                kind: limit.kind as u32,
                counts: [0; COUNTERS],
            };
        }
        roll(slot, now.div_euclid(sub_window));
        let in_window: i64 = slot.counts.iter().map(|&c| c as i64).sum();
        room &= in_window < limit.limit;
        chosen[i] = at;
    }
    if !room {
        table.header().refused += 1;
        return Outcome::Refused;
    }
    for &at in chosen.iter().take(limits.len()) {
        let slot = &mut table.slots()[at];
        let index = slot.last_index.rem_euclid(COUNTERS as i64) as usize;
        slot.counts[index] = slot.counts[index].saturating_add(1);
    }
    table.header().admitted += 1;
    Outcome::Admitted
}

fn decide(function: &str, limits: &[Limit]) -> bool {
    match admit(limits) {
        Outcome::Admitted => true,
        Outcome::Refused => false,
        Outcome::Full => raise(
            PgSqlErrorCode::ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
            format!("vibecraft.{function}: the rate-limit table has no free slot for this limit"),
            Some("Raise vibecraft.rate_limit_slots (server restart) or use fewer distinct actions and windows."),
        ),
    }
}


fn window_micros(function: &str, window: Option<pgrx::datum::Interval>) -> i64 {
    let Some(window) = window else { invalid(format!("vibecraft.{function}: time_window must not be NULL")) };
    let micros = window.as_micros();
    if micros <= 0 || micros > MAX_WINDOW_MICROS {
        invalid(format!("vibecraft.{function}: time_window must be longer than zero and at most 366 days"));
    }
    micros as i64
}

/// `vibecraft.check_rate_limit(user_uuid, action_type, limit_count, time_window)`:
/// true admits the call and counts it, false refuses it (and counts nothing).
#[pg_extern(volatile, parallel_unsafe)]
fn check_rate_limit(
    user_uuid: Option<pgrx::Uuid>,
    action_type: Option<&str>,
    limit_count: Option<i32>,
    time_window: Option<pgrx::datum::Interval>,
) -> bool {
    const F: &str = "check_rate_limit";
    let Some(user) = user_uuid else { invalid(format!("vibecraft.{F}: user_uuid must not be NULL")) };
    let action = match action_type {
        Some(a) if !a.is_empty() && a.len() <= 200 => a,
        _ => invalid(format!("vibecraft.{F}: action_type must be 1 to 200 bytes")),
    };
    let limit = match limit_count {
        Some(l) if l > 0 => l as i64,
        other => invalid(format!("vibecraft.{F}: limit_count must be a positive number, not {}", other.map_or("NULL".into(), |l| l.to_string()))),
    };
    let window = window_micros(F, time_window);
    identity::require_may_act_for(F, user, true);
    decide(F, &[Limit { kind: Kind::UserAction, subject: user, action, limit, window }])
}

/// A key's owner and limit, as the owner of api_keys: every key, whoever asks (RLS shows
/// users only their own), so another user's key is refused with 42501, not "no such key".
static KEY_LIMIT: OwnerStatement = OwnerStatement {
    rights_of: (c"vibecraft", c"api_keys"),
    sql: "SELECT k.user_id, k.rate_limit_per_minute FROM vibecraft.api_keys k WHERE k.id OPERATOR(pg_catalog.=) $1",
    arg_types: &[UUID],
    access: Access::Write,
};

/// A provider's limits, as the owner of ai_providers, whatever the caller may read.
static PROVIDER_LIMITS: OwnerStatement = OwnerStatement {
    rights_of: (c"vibecraft", c"ai_providers"),
    sql: "SELECT true, p.max_requests_per_minute, p.max_requests_per_day FROM vibecraft.ai_providers p
           WHERE p.name OPERATOR(pg_catalog.=) $1",
    arg_types: &[TEXT],
    access: Access::Write,
};

/// `vibecraft.check_api_key_rate_limit(key_id)`: the key's own `rate_limit_per_minute`;
/// a key without a limit is always admitted (and not counted).
#[pg_extern(volatile, parallel_unsafe)]
fn check_api_key_rate_limit(key_id: Option<pgrx::Uuid>) -> bool {
    const F: &str = "check_api_key_rate_limit";
    let Some(key) = key_id else { invalid(format!("vibecraft.{F}: key_id must not be NULL")) };
    let row = KEY_LIMIT.run(&[key.into()], |t| t.first().get_two::<pgrx::Uuid, i32>());
    let (owner, per_minute) = match row {
        Ok((Some(owner), per_minute)) => (owner, per_minute),
        _ => invalid(format!("vibecraft.{F}: no such API key")),
    };
    identity::require_may_act_for(F, owner, true);
    let Some(per_minute) = per_minute else { return true };
    decide(F, &[Limit { kind: Kind::ApiKey, subject: key, action: "", limit: per_minute as i64, window: 60_000_000 }])
}

/// `vibecraft.check_provider_rate_limit(provider, user_uuid)`: the provider's
/// `max_requests_per_minute` and `max_requests_per_day` for one user; the call is
/// admitted only when both have room, and then counts against both.
#[pg_extern(volatile, parallel_unsafe)]
fn check_provider_rate_limit(provider: Option<&str>, user_uuid: default!(Option<pgrx::Uuid>, "NULL")) -> bool {
    const F: &str = "check_provider_rate_limit";
    let Some(provider) = provider else { invalid(format!("vibecraft.{F}: provider must not be NULL")) };
    let user = match user_uuid.or_else(identity::current_user) {
        Some(u) => u,
        None => invalid(format!("vibecraft.{F}: no user given and nobody signed in")),
    };
    let row = PROVIDER_LIMITS.run(&[provider.into()], |t| t.first().get_three::<bool, i32, i32>());
    let (per_minute, per_day) = match row {
        Ok((Some(true), per_minute, per_day)) => (per_minute, per_day),
        _ => invalid(format!("vibecraft.{F}: unknown provider {provider:?}")),
    };
    identity::require_may_act_for(F, user, true);
    let mut limits = Vec::with_capacity(2);
    if let Some(n) = per_minute {
        limits.push(Limit { kind: Kind::Provider, subject: user, action: provider, limit: n as i64, window: 60_000_000 });
    }
    if let Some(n) = per_day {
        limits.push(Limit { kind: Kind::Provider, subject: user, action: provider, limit: n as i64, window: 86_400_000_000 });
    }
    if limits.is_empty() {
        return true;
    }
    decide(F, &limits)
}

/// `vibecraft.compact_rate_limits()`: free every slot whose counts have aged out;
/// returns how many slots are still in use. daily_maintenance calls it.
#[pg_extern(volatile, parallel_unsafe)]
fn compact_rate_limits() -> i64 {
    let now = ids::now();
    let mut table = Locked::acquire();
    let mut in_use = 0;
    for slot in table.slots() {
        if slot.sub_window != 0 {
            if is_free(slot, now) {
                slot.sub_window = 0;
            } else {
                in_use += 1;
            }
        }
    }
    in_use
}

/// `vibecraft.rate_limit_state()`: slots in use and totals since the server started.
#[pg_extern(volatile, parallel_safe)]
fn rate_limit_state() -> TableIterator<
    'static,
    (
        name!(slots_total, i64),
        name!(slots_in_use, i64),
        name!(admitted, i64),
        name!(refused, i64),
        name!(refused_table_full, i64),
    ),
> {
    let mut table = Locked::acquire();
    let total = table.header().slots as i64;
    let in_use = table.slots().iter().filter(|s| s.sub_window != 0).count() as i64;
    let h = table.header();
    let row = (total, in_use, h.admitted as i64, h.refused as i64, h.full as i64);
    drop(table);
    TableIterator::once(row)
}
