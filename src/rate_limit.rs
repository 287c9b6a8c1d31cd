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
//! One tenant cannot exhaust the table or aim at another's slots:
//!   * a subject's slots live in a neighbourhood of `PROBE` slots chosen by SipHash under a
//!     key drawn from the operating system at server start, so nobody can work out from
//!     the source which subjects share a neighbourhood;
//!   * a subject holds at most `SHARE` live slots of its neighbourhood; a new limit beyond
//!     that is refused for that subject alone (53400), never by evicting anyone else's
//!     slot, and never by evicting its own (that would reset its counts);
//!   * a signed-in caller's limits come from `vibecraft.rate_limit_rules` (the service
//!     role's table); only the service role may pass limits of its own.
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
use siphasher::sip::SipHasher13;
use std::hash::{Hash, Hasher};

/// How many sub-windows a window is cut into; the slack of the guarantee is 1/SUB_WINDOWS.
const SUB_WINDOWS: i64 = 16;
/// Counters per slot: the current sub-window and the SUB_WINDOWS before it.
const COUNTERS: usize = SUB_WINDOWS as usize + 1;
/// How many consecutive slots a subject's limits may live in (open addressing, no tombstones).
const PROBE: usize = 64;
/// How many live slots of its neighbourhood one subject may hold: a quarter, so a
/// neighbourhood always has room for subjects other than the busiest three. (A user
/// checking every provider's two limits and a few actions of its own fits.)
const SHARE: usize = 16;
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
    AnonymousInsert = 4,
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
    /// SipHash key drawn at server start: which slots a subject uses is not computable.
    hash_key: [u64; 2],
    slots: usize,
    admitted: u64,
    refused: u64,
    full: u64,
    // `slots` Slot values follow.
}

static mut TABLE: *mut Table = std::ptr::null_mut();
const TRANCHE: &std::ffi::CStr = c"vibecraft_rate_limit";

fn table_bytes(slots: usize) -> usize {
    size_of::<Table>() + slots * size_of::<Slot>()
}

/// Called from _PG_init when loaded through shared_preload_libraries (the table itself
/// comes with shared_memory.rs).
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
}

/// The shared block's name and size, for shared_memory.rs.
pub fn shared_block() -> (&'static std::ffi::CStr, usize) {
    (TRANCHE, table_bytes(RATE_LIMIT_SLOTS.get() as usize))
}

/// Attach the table (shared_memory.rs's startup hook); the first process fills it in.
pub unsafe fn attach(block: unsafe fn(&std::ffi::CStr, usize) -> (*mut u8, *mut pg_sys::LWLock, bool)) {
    let slots = RATE_LIMIT_SLOTS.get() as usize;
    // SAFETY: called from the startup hook under AddinShmemInitLock.
    unsafe {
        let (at, lock, fresh) = block(TRANCHE, table_bytes(slots));
        let table = at.cast::<Table>();
        if fresh {
            (*table).lock = lock;
            (*table).slots = slots;
            let mut key = [0u8; 16];
            ids::strong_random(&mut key);
            (*table).hash_key = [
                u64::from_le_bytes(key[..8].try_into().unwrap()),
                u64::from_le_bytes(key[8..].try_into().unwrap()),
            ];
        }
        TABLE = table;
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

    fn action_hash(&self, key: [u64; 2]) -> u64 {
        let mut h = SipHasher13::new_with_keys(key[0], key[1]);
        self.kind.hash(&mut h);
        self.action.hash(&mut h);
        h.finish()
    }
}

/// Where a subject's neighbourhood starts: keyed, so it cannot be aimed at.
fn neighbourhood(key: [u64; 2], database: u32, subject: &[u8; 16], slots: usize) -> usize {
    let mut h = SipHasher13::new_with_keys(key[0], key[1]);
    (database, subject).hash(&mut h);
    (h.finish() % slots as u64) as usize
}

enum Outcome {
    Admitted,
    Refused,
    /// The subject already holds SHARE live slots and asks for another.
    ShareUsed,
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
/// The limits of one call belong to one subject.
fn admit(limits: &[Limit]) -> Outcome {
    let database = unsafe { pg_sys::MyDatabaseId }.to_u32();
    let now = ids::now();
    let mut table = Locked::acquire();
    let n = table.header().slots;
    let key = table.header().hash_key;
    let mut chosen = [usize::MAX; 2];
    let mut room = true;
    for (i, limit) in limits.iter().enumerate() {
        let sub_window = limit.sub_window();
        let action_hash = limit.action_hash(key);
        let subject = *limit.subject.as_bytes();
        let start = neighbourhood(key, database, &subject, n);
        let slots = table.slots();
        let width = PROBE.min(n);
        // The hot path: the limit's own slot, by comparing keys only.
        let found = (0..width).map(|p| (start + p) % n).find(|&at| {
            let s = &slots[at];
            s.sub_window == sub_window && s.action_hash == action_hash && s.subject == subject && s.database == database && s.kind == limit.kind as u32
        });
        let at = match found {
            Some(at) => at,
            None => {
                // A new limit: a free slot of the neighbourhood, if the subject has not
                // used up its share (slots whose counts aged out are free again).
                let mut free = None;
                let mut held = 0;
                for p in 0..width {
                    let at = (start + p) % n;
                    let s = &mut slots[at];
                    let same_subject = s.sub_window != 0 && s.subject == subject && s.database == database;
                    if chosen.contains(&at) {
                        held += 1; // taken by an earlier limit of this call
                    } else if is_free(s, now) {
                        s.sub_window = 0;
                        free.get_or_insert(at);
                    } else if same_subject {
                        held += 1;
                    }
                }
                match free {
                    _ if held >= SHARE => {
                        table.header().full += 1;
                        return Outcome::ShareUsed;
                    }
                    Some(at) => at,
                    None => {
                        table.header().full += 1;
                        return Outcome::Full;
                    }
                }
            }
        };
        let slots = table.slots();
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
        Outcome::ShareUsed => raise(
            PgSqlErrorCode::ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
            format!("vibecraft.{function}: this subject already holds its share of {SHARE} live rate limits"),
            Some("A subject may have that many distinct (action, window) limits running at once; wait until one ages out."),
        ),
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

/// The rule for an action and a user's plan (a rule for the plan before one for every
/// plan), as the owner of the rules: callers need not be able to read them.
static RULE: OwnerStatement = OwnerStatement {
    rights_of: (c"vibecraft", c"rate_limit_rules"),
    sql: "SELECT r.limit_count, r.time_window
            FROM vibecraft.rate_limit_rules r
           WHERE r.action OPERATOR(pg_catalog.=) $1
             AND (r.plan IS NULL OR r.plan OPERATOR(pg_catalog.=) (SELECT u.subscription_plan::pg_catalog.text
                    FROM vibecraft.users u WHERE u.id OPERATOR(pg_catalog.=) $2))
           ORDER BY r.plan IS NULL LIMIT 1",
    arg_types: &[TEXT, UUID],
    access: Access::Read,
};

/// `vibecraft.check_rate_limit(user_uuid, action_type [, limit_count, time_window])`:
/// true admits the call and counts it, false refuses it (and counts nothing).
/// The limit is the action's rule in rate_limit_rules; the service role may pass its own.
#[pg_extern(volatile, parallel_unsafe)]
fn check_rate_limit(
    user_uuid: Option<pgrx::Uuid>,
    action_type: Option<&str>,
    limit_count: default!(Option<i32>, "NULL"),
    time_window: default!(Option<pgrx::datum::Interval>, "NULL"),
) -> bool {
    const F: &str = "check_rate_limit";
    let Some(user) = user_uuid else { invalid(format!("vibecraft.{F}: user_uuid must not be NULL")) };
    let action = match action_type {
        Some(a) if !a.is_empty() && a.len() <= 200 => a,
        _ => invalid(format!("vibecraft.{F}: action_type must be 1 to 200 bytes")),
    };
    if let Some(l) = limit_count.filter(|&l| l <= 0) {
        invalid(format!("vibecraft.{F}: limit_count must be a positive number, not {l}"));
    }
    let window = time_window.map(|w| window_micros(F, Some(w)));
    // Asked once: the service role's call is the hot path (a role lookup is a few percent
    // of it).
    let service = identity::caller_is_service();
    if !service {
        identity::require_may_act_for(F, user, true);
    }
    let (limit, window) = match (limit_count, window) {
        (Some(limit), Some(window)) if service => (limit as i64, window),
        (None, Some(_)) | (Some(_), None) => invalid(format!("vibecraft.{F}: give both limit_count and time_window, or neither (the action's rule)")),
        (given_limit, given_window) => {
            let rule = RULE.run(&[action.into(), user.into()], |t| t.first().get_two::<i32, pgrx::datum::Interval>());
            let (rule_limit, rule_window) = match rule {
                Ok((Some(l), Some(w))) => (l as i64, window_micros(F, Some(w))),
                _ => invalid(format!("vibecraft.{F}: there is no rule for action {action:?} in vibecraft.rate_limit_rules")),
            };
            // A signed-in caller may repeat its rule (the seed's call) but not choose another.
            if given_limit.is_some_and(|l| l as i64 != rule_limit) || given_window.is_some_and(|w| w != rule_window) {
                raise(
                    PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                    format!("vibecraft.{F}: action {action:?} is limited by its rule ({rule_limit} per {} s); only the service role may pass other limits", rule_window / 1_000_000),
                    Some("Call vibecraft.check_rate_limit(user_uuid, action_type) to be held to the rule."),
                );
            }
            (rule_limit, rule_window)
        }
    };
    decide(F, &[Limit { kind: Kind::UserAction, subject: user, action, limit, window }])
}

/// The rule for anonymous inserts into one table (`anon_insert:<table>`, every plan).
static ANONYMOUS_RULE: OwnerStatement = OwnerStatement {
    rights_of: (c"vibecraft", c"rate_limit_rules"),
    sql: "SELECT r.limit_count, r.time_window FROM vibecraft.rate_limit_rules r
           WHERE r.action OPERATOR(pg_catalog.=) $1 AND r.plan IS NULL",
    arg_types: &[TEXT],
    access: Access::Read,
};

/// Whether one more anonymous insert into `table` fits its rule; all anonymous
/// callers of a table share one budget (they have no identity to tell them apart).
/// A table without a rule is not limited. Called by guard_public_write.
pub fn admit_anonymous_insert(relation: pg_sys::Oid, table: &str) -> bool {
    const F: &str = "guard_public_write";
    let action = format!("anon_insert:{table}");
    let rule = ANONYMOUS_RULE.run(&[action.as_str().into()], |t| t.first().get_two::<i32, pgrx::datum::Interval>());
    let Ok((Some(limit), Some(window))) = rule else { return true };
    let mut subject = [0u8; 16];
    subject[..4].copy_from_slice(&relation.to_u32().to_le_bytes());
    let window = window_micros(F, Some(window));
    decide(F, &[Limit { kind: Kind::AnonymousInsert, subject: pgrx::Uuid::from_bytes(subject), action: &action, limit: limit as i64, window }])
}

/// A key's owner and limit, as the owner of api_keys: every key, whoever asks (RLS shows
/// users only their own); another user's key is then answered as a missing one.
static KEY_LIMIT: OwnerStatement = OwnerStatement {
    rights_of: (c"vibecraft", c"api_keys"),
    sql: "SELECT k.user_id, k.rate_limit_per_minute FROM vibecraft.api_keys k WHERE k.id OPERATOR(pg_catalog.=) $1",
    arg_types: &[UUID],
    // Read: no transaction id, so a read replica serves it too.
    access: Access::Read,
};

/// A provider's limits, as the owner of ai_providers, whatever the caller may read.
static PROVIDER_LIMITS: OwnerStatement = OwnerStatement {
    rights_of: (c"vibecraft", c"ai_providers"),
    sql: "SELECT true, p.max_requests_per_minute, p.max_requests_per_day FROM vibecraft.ai_providers p
           WHERE p.name OPERATOR(pg_catalog.=) $1",
    arg_types: &[TEXT],
    access: Access::Read,
};

/// `vibecraft.check_api_key_rate_limit(key_id)`: the key's own `rate_limit_per_minute`;
/// a key without a limit is always admitted (and not counted).
#[pg_extern(volatile, parallel_unsafe)]
fn check_api_key_rate_limit(key_id: Option<pgrx::Uuid>) -> bool {
    const F: &str = "check_api_key_rate_limit";
    let Some(key) = key_id else { invalid(format!("vibecraft.{F}: key_id must not be NULL")) };
    let row = KEY_LIMIT.run(&[key.into()], |t| t.first().get_two::<pgrx::Uuid, i32>());
    // Another user's key answers as a missing one: ids are not confirmed.
    let per_minute = match row {
        Ok((Some(owner), per_minute)) if identity::may_act_for(owner, true) => per_minute,
        _ => raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("vibecraft.{F}: no such API key of yours"), None),
    };
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
