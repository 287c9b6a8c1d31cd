//! The rate limiter under real concurrency and real roles.

use postgres::Client;
use serde_json::json;
use std::time::{Duration, Instant};
use vibecraft_integration_tests::{sqlstate, token, TestDb};

const MIA: &str = "d1000000-0000-4000-8000-000000000003";
const MAX: &str = "d1000000-0000-4000-8000-000000000002";
const WINDOW_MICROS: i64 = 2_000_000;
const LIMIT: usize = 100;

/// 8 connections hammer one key with limit 100 per 2 seconds for 10 seconds. Each
/// admitted call's moment is bracketed by clock_timestamp() read just before and just
/// after it in the same statement; no 2-second interval may hold more than 100.
#[test]
fn no_two_second_interval_admits_more_than_the_limit() {
    let db = TestDb::new("rl_load");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let action: String = su.query_one("SELECT 'api_key:' || gen_random_uuid()", &[]).unwrap().get(0);
    let clients: Vec<Client> = (0..8).map(|i| db.login_as(&format!("rl{i}"), &["vibecraft_service"])).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let workers: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let action = action.clone();
            std::thread::spawn(move || {
                let statement = c
                    .prepare(
                        "SELECT (extract(epoch FROM clock_timestamp()) * 1e6)::bigint,
                                vibecraft.check_rate_limit($1::text::uuid, $2, 100, '2 seconds'),
                                (extract(epoch FROM clock_timestamp()) * 1e6)::bigint",
                    )
                    .unwrap();
                let (mut admitted, mut calls) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let row = c.query_one(&statement, &[&MIA, &action]).unwrap();
                    calls += 1;
                    if row.get::<_, bool>(1) {
                        admitted.push((row.get::<_, i64>(0), row.get::<_, i64>(2)));
                    }
                }
                (admitted, calls)
            })
        })
        .collect();
    let mut admitted = Vec::new();
    let mut calls = 0;
    for w in workers {
        let (a, c) = w.join().unwrap();
        admitted.extend(a);
        calls += c;
    }
    // Order statistics: the k-th admission happened no earlier than the k-th smallest
    // "before" reading and no later than the k-th smallest "after" reading.
    let mut before: Vec<i64> = admitted.iter().map(|a| a.0).collect();
    let mut after: Vec<i64> = admitted.iter().map(|a| a.1).collect();
    before.sort_unstable();
    after.sort_unstable();
    let precision = admitted.iter().map(|a| a.1 - a.0).max().unwrap_or(0);
    let mut tightest = i64::MAX;
    for i in 0..admitted.len().saturating_sub(LIMIT) {
        // Admissions i..=i+LIMIT are LIMIT+1 calls; they must span at least the window.
        tightest = tightest.min(before[i + LIMIT] - after[i]);
    }
    eprintln!(
        "rate limit load: {calls} calls over 8 connections in 10 s, {} admitted; tightest span of 101 admissions {tightest} µs (window {WINDOW_MICROS} µs, clock bracket {precision} µs)",
        admitted.len()
    );
    assert!(calls > 2_000, "the clients really hammered the key ({calls} calls)");
    assert!(
        tightest >= WINDOW_MICROS - precision,
        "101 admissions within {tightest} µs: more than 100 in a 2-second interval"
    );
    // 10 s hold at most 6 windows' worth; the limiter must also not starve the key.
    assert!((400..=600).contains(&admitted.len()), "{} admitted", admitted.len());
}

/// A user limits only itself, by the action's rule; the service role anyone. Rolled-back
/// calls stay counted.
#[test]
fn users_limit_only_themselves_and_rollbacks_do_not_refund() {
    let db = TestDb::new("rl_roles");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut mia = db.login_as("rl_mia", &["vibecraft_authenticated"]);
    let action: String = su.query_one("SELECT 'login:' || gen_random_uuid()", &[]).unwrap().get(0);
    // A signed-in caller is held to the action's rule; the seed's call repeats its numbers.
    su.execute("INSERT INTO vibecraft.rate_limit_rules (action, limit_count, time_window) VALUES ($1, 5, '1 hour')", &[&action]).unwrap();

    let mut tx = mia.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    let err = tx.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, $2, 5, '1 hour')", &[&MAX, &action]);
    assert_eq!(sqlstate(err), "42501", "a user cannot spend another user's limit");
    drop(tx);

    // Five attempts, each rolled back by the caller: all counted, the sixth is refused.
    for _ in 0..5 {
        let mut tx = mia.transaction().unwrap();
        tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
        let ok: bool = tx.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, $2, 5, '1 hour')", &[&MIA, &action]).unwrap().get(0);
        assert!(ok);
        tx.rollback().unwrap();
    }
    let mut tx = mia.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    let sixth: bool = tx.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, $2, 5, '1 hour')", &[&MIA, &action]).unwrap().get(0);
    assert!(!sixth, "rolled-back attempts still count");
    drop(tx);

    // Not signed in: nothing to limit for.
    let err = mia.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, $2, 5, '1 hour')", &[&MIA, &action]);
    assert_eq!(sqlstate(err), "42501");
}
