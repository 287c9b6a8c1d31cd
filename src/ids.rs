//! Identifiers: time-ordered UUIDs (version 7) for append-mostly tables; and the two
//! things they are made of, which the rest of vibecraft takes from here too: the clock
//! (`now`) and the operating system's strong random bytes (`strong_random`).
//!
//! Log tables (audit, ledger, usage, activity) receive rows in time order; a random
//! UUIDv4 key scatters every insert across the primary-key index, a v7 key appends.
//! The uuid crate lays the id out; the counter and the random bytes are ours, because
//! its own v7 generator takes its randomness from getrandom, not from PostgreSQL.

use crate::errors::raise;
use pgrx::prelude::*;

use std::cell::Cell;

/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const POSTGRES_EPOCH_UNIX_MICROS: i64 = 946_684_800 * 1_000_000;

/// The current time, read from the system clock (not the transaction's start), as a
/// PostgreSQL `timestamptz`: microseconds since 2000-01-01 UTC.
pub fn now() -> i64 {
    // SAFETY: a plain clock read.
    unsafe { pg_sys::GetCurrentTimestamp() }
}

/// A `timestamptz` value (see `now`) as microseconds since 1970-01-01 UTC.
pub fn unix_micros(timestamp: i64) -> i64 {
    timestamp + POSTGRES_EPOCH_UNIX_MICROS
}

/// Fill `out` from the operating system's cryptographically strong generator
/// (pg_strong_random), the source of every id, nonce and key secret.
pub fn strong_random(out: &mut [u8]) {
    // SAFETY: the buffer is valid for writes of its length.
    if !unsafe { pg_sys::pg_strong_random(out.as_mut_ptr().cast(), out.len()) } {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "vibecraft: the operating system's random number generator failed",
            None,
        );
    }
}

thread_local! {
    /// Last (milliseconds, counter) handed out by this backend.
    static LAST: Cell<(u64, u16)> = const { Cell::new((0, 0)) };
    /// Strong random bytes, fetched 4 kB at a time (one call per id costs more than the
    /// rest of the id) and never handed out twice. Filled only in a backend, never in
    /// the postmaster, so forked backends share nothing.
    static RANDOM: std::cell::RefCell<(Vec<u8>, usize)> = const { std::cell::RefCell::new((Vec::new(), 0)) };
}

/// Strong random bytes from this backend's pool (see RANDOM): for values drawn often,
/// such as ids and nonces; key secrets come from strong_random directly.
pub fn pooled_random(out: &mut [u8]) {
    RANDOM.with(|r| {
        let (pool, used) = &mut *r.borrow_mut();
        if pool.is_empty() {
            pool.resize(4096, 0);
            *used = pool.len();
        }
        if *used + out.len() > pool.len() {
            strong_random(pool);
            *used = 0;
        }
        out.copy_from_slice(&pool[*used..*used + out.len()]);
        pool[*used..*used + out.len()].fill(0);
        *used += out.len();
    });
}

/// 16 bytes of a version 7 UUID: 48-bit Unix milliseconds, a 12-bit counter, 62 random
/// bits. Within one backend the ids strictly increase (RFC 9562, method 1): within a
/// millisecond the counter counts up, and the clock never appears to go backwards.
pub fn uuid_v7_bytes() -> [u8; 16] {
    let now_ms = (unix_micros(now()) / 1000).max(0) as u64;
    // The counter's two bytes, then the random bits.
    let mut counter_and_random = [0u8; 10];
    pooled_random(&mut counter_and_random);
    let (millis, counter) = LAST.with(|last| {
        let (last_ms, last_counter) = last.get();
        let next = if now_ms > last_ms {
            // A new millisecond: start the counter low, leaving room to count up.
            (now_ms, u16::from_be_bytes([counter_and_random[0], counter_and_random[1]]) & 0x07ff)
        } else if last_counter < 0x0fff {
            (last_ms, last_counter + 1)
        } else {
            (last_ms + 1, 0)
        };
        last.set(next);
        next
    });
    counter_and_random[..2].copy_from_slice(&counter.to_be_bytes());
    uuid::Builder::from_unix_timestamp_millis(millis, &counter_and_random).into_uuid().into_bytes()
}

/// `vibecraft.uuid_generate_v7()`: a time-ordered UUID, the default key of log tables.
#[pg_extern(volatile, parallel_safe)]
fn uuid_generate_v7() -> pgrx::Uuid {
    pgrx::Uuid::from_bytes(uuid_v7_bytes())
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn v7_ids_strictly_increase_within_a_backend() {
        let sorted = Spi::get_one::<bool>(
            "SELECT bool_and(a < b) FROM (SELECT id AS a, lead(id) OVER (ORDER BY n) AS b
               FROM (SELECT n, vibecraft.uuid_generate_v7() AS id FROM generate_series(1, 20000) n) s) t
              WHERE b IS NOT NULL",
        )
        .unwrap();
        assert_eq!(sorted, Some(true));
    }

    #[pg_test]
    fn v7_has_version_and_variant_bits_and_sorts_by_time() {
        let (a, b) = Spi::get_two::<String, String>(
            "SELECT vibecraft.uuid_generate_v7()::text, (SELECT vibecraft.uuid_generate_v7()::text FROM pg_sleep(0.002))",
        )
        .unwrap();
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(&a[14..15], "7", "version nibble in {a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "variant bits in {a}");
        assert!(a < b, "{a} generated first must sort first before {b}");
    }
}
