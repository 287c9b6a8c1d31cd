//! Load and faults: 8 connections mix credits, rate limits, key validation, audited
//! writes and maintenance for VIBECRAFT_SOAK_SECONDS (60 by default); then the server is
//! stopped with `pg_ctl stop -m immediate` while they are still writing, and restarted.
//! Every credit change a client saw committed must be there, every ledger must still sum
//! to its balance, and validate_system_integrity must report nothing failed.

use postgres::Client;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vibecraft_integration_tests::TestDb;

const USERS: usize = 20;
const START_CREDITS: i32 = 1_000_000;

fn soak_user(i: usize) -> String {
    format!("c5000000-0000-4000-8000-{:012}", i + 1)
}

#[derive(Default)]
struct Tally {
    deducted: Vec<i64>,
    added: Vec<i64>,
    rate_checks: i64,
    validations: i64,
    audited_writes: i64,
    maintenance_runs: i64,
    in_flight_lost: i64,
}

fn cluster_script() -> String {
    format!("{}/../scripts/cluster.sh", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn soak_then_crash_loses_nothing_committed() {
    let seconds: u64 = std::env::var("VIBECRAFT_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let db = TestDb::new("soak");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    for i in 0..USERS {
        su.execute("INSERT INTO vibecraft.users (id, email) VALUES ($1::text::uuid, $2)", &[&soak_user(i), &format!("soak{i}@example.com")])
            .unwrap();
        su.query_one("SELECT vibecraft.add_credits($1::text::uuid, $2, 'soak start')", &[&soak_user(i), &START_CREDITS]).unwrap();
    }
    // The demo key (valid, owned by the demo admin): validated over and over.
    let key = format!("vc_test_demo0001_{}", "a".repeat(43));
    let data_dir: String = su.query_one("SELECT current_setting('data_directory')", &[]).unwrap().get(0);
    let port: String = su.query_one("SELECT current_setting('port')", &[]).unwrap().get(0);
    drop(su);

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let mut c: Client = db.login_as(&format!("soak{w}"), &["vibecraft_service"]);
            let stop = stop.clone();
            let key = key.clone();
            std::thread::spawn(move || {
                let mut t = Tally { deducted: vec![0; USERS], added: vec![0; USERS], ..Tally::default() };
                let mut n: usize = w;
                let mut last_maintenance = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let user = soak_user(n % USERS);
                    // An autocommit statement returns only after its commit: an answer
                    // means the change is durable (synchronous_commit is on).
                    let result = match n % 6 {
                        0 | 1 => c
                            .query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 1, 'soak')", &[&user])
                            .map(|r| if r.get::<_, bool>(0) { t.deducted[n % USERS] += 1 }),
                        2 => c
                            .query_one("SELECT vibecraft.add_credits($1::text::uuid, 1, 'soak add')", &[&user])
                            .map(|_| t.added[n % USERS] += 1),
                        3 => c
                            .query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, 'soak', 1000, '1 second')", &[&user])
                            .map(|_| t.rate_checks += 1),
                        4 => c
                            .query_one("SELECT valid FROM vibecraft.validate_api_key($1)", &[&key])
                            .map(|_| t.validations += 1),
                        _ => c
                            .execute("UPDATE vibecraft.organizations SET name = 'Soak ' || $1::text WHERE id = 'd0000000-0000-4000-8000-000000000002'", &[&(n as i64).to_string()])
                            .map(|_| t.audited_writes += 1),
                    };
                    if result.is_err() {
                        // The server went away mid-call: this change may or may not be in.
                        t.in_flight_lost += 1;
                        break;
                    }
                    if w == 0 && last_maintenance.elapsed() > Duration::from_secs(10) {
                        if c.query_one("SELECT vibecraft.daily_maintenance()", &[]).is_err() {
                            t.in_flight_lost += 1;
                            break;
                        }
                        t.maintenance_runs += 1;
                        last_maintenance = Instant::now();
                    }
                }
                t
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs(seconds));
    // Crash the server while the clients are still writing.
    let crashed = std::process::Command::new("bash").args([&cluster_script(), "crash", &data_dir]).status().unwrap();
    assert!(crashed.success(), "pg_ctl stop -m immediate failed");
    stop.store(true, Ordering::Relaxed);
    let tallies: Vec<Tally> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let started = std::process::Command::new("bash").args([&cluster_script(), "start", &port, &data_dir]).status().unwrap();
    assert!(started.success(), "the server did not come back after the crash");

    let mut su = db.superuser();
    let in_flight: i64 = tallies.iter().map(|t| t.in_flight_lost).sum();
    let sum = |f: fn(&Tally) -> i64| tallies.iter().map(f).sum::<i64>();
    let (mut acked_changes, mut found_changes) = (0i64, 0i64);
    for i in 0..USERS {
        let acked_deducted: i64 = tallies.iter().map(|t| t.deducted[i]).sum();
        let acked_added: i64 = tallies.iter().map(|t| t.added[i]).sum();
        let row = su
            .query_one(
                "SELECT (SELECT b.credits FROM vibecraft.credit_balances b WHERE b.user_id = u.id)::bigint,
                        (SELECT coalesce(sum(amount), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = u.id),
                        (SELECT count(*) FROM vibecraft.credit_ledger l WHERE l.user_id = u.id AND l.reason = 'soak'),
                        (SELECT count(*) FROM vibecraft.credit_ledger l WHERE l.user_id = u.id AND l.reason = 'soak add')
                   FROM vibecraft.users u WHERE u.id = $1::text::uuid",
                &[&soak_user(i)],
            )
            .unwrap();
        let (balance, ledger, deducted, added): (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(balance, ledger, "user {i}: the ledger sums to the balance after the crash");
        assert!(deducted >= acked_deducted && added >= acked_added, "user {i}: a committed change was lost ({deducted} of {acked_deducted} deductions, {added} of {acked_added} additions)");
        assert!(deducted + added <= acked_deducted + acked_added + in_flight, "user {i}: more changes than were made");
        acked_changes += acked_deducted + acked_added;
        found_changes += deducted + added;
    }
    let failed: Vec<String> = su
        .query("SELECT check_name FROM vibecraft.validate_system_integrity() WHERE status = 'failed'", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(failed.is_empty(), "integrity checks failed after the crash: {failed:?}");
    eprintln!(
        "soak: 8 connections for {seconds} s, then an immediate shutdown and restart: {acked_changes} credit changes acknowledged, {found_changes} found ({in_flight} calls in flight at the crash); {} rate checks, {} key validations, {} audited writes, {} maintenance runs; 0 lost",
        sum(|t| t.rate_checks),
        sum(|t| t.validations),
        sum(|t| t.audited_writes),
        sum(|t| t.maintenance_runs)
    );
    assert!(acked_changes > 1000, "the soak made real load ({acked_changes} credit changes)");
}
