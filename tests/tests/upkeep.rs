//! analyze_all_tables() and vacuum_all_tables() as the service role from a real login
//! role, also inside an explicit transaction; and the timeouts helper for login roles.

use postgres::Client;
use std::time::{Duration, Instant};
use vibecraft_integration_tests::{sqlstate, token, TestDb};

const MIA: &str = "d1000000-0000-4000-8000-000000000003";

/// (last manual vacuum, last manual analyze, dead tuples) of vibecraft.feedback, fresh.
fn feedback_stats(client: &mut Client) -> (Option<std::time::SystemTime>, Option<std::time::SystemTime>, i64) {
    client.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
    let row = client
        .query_one("SELECT last_vacuum, last_analyze, n_dead_tup FROM pg_stat_all_tables WHERE relid = 'vibecraft.feedback'::regclass", &[])
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[test]
fn analyze_and_vacuum_all_tables_as_the_service_role_also_in_a_transaction() {
    let db = TestDb::new("upkeep_vacuum");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    su.batch_execute(
        "INSERT INTO vibecraft.feedback (message) SELECT 'to be deleted ' || g FROM generate_series(1, 2000) g;
         DELETE FROM vibecraft.feedback WHERE message LIKE 'to be deleted %';",
    )
    .unwrap();
    // The deletion's statistics reach the shared counters within a second or so.
    let deadline = Instant::now() + Duration::from_secs(15);
    while feedback_stats(&mut su).2 < 2000 {
        assert!(Instant::now() < deadline, "the deleted rows never showed as dead tuples");
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut service = db.login_as("upkeep_service", &["vibecraft_service"]);
    let started = std::time::SystemTime::now();

    let analyzed: Vec<(String, Option<std::time::SystemTime>)> = service
        .query("SELECT table_name, last_analyze FROM vibecraft.analyze_all_tables()", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(analyzed.len() > 40, "every vibecraft table: {}", analyzed.len());
    let (_, last_analyze, _) = feedback_stats(&mut su);
    assert!(last_analyze.is_some_and(|t| t >= started), "last_analyze moved");

    // VACUUM from inside the caller's transaction: the worker runs it in its own.
    let mut tx = service.transaction().unwrap();
    let row = tx
        .query_one("SELECT last_vacuum, dead_tuples FROM vibecraft.vacuum_all_tables() WHERE table_name = 'vibecraft.feedback'", &[])
        .unwrap();
    let (returned_vacuum, dead): (Option<std::time::SystemTime>, i64) = (row.get(0), row.get(1));
    tx.commit().unwrap();
    assert!(returned_vacuum.is_some_and(|t| t >= started), "the call returned once the vacuum was done");
    assert_eq!(dead, 0, "the deleted rows were reclaimed");
    let (last_vacuum, _, dead) = feedback_stats(&mut su);
    assert!(last_vacuum.is_some_and(|t| t >= started), "a manual VACUUM ran (pg_stat_all_tables.last_vacuum)");
    assert_eq!(dead, 0);

    // wait => false returns at once; the vacuum still happens.
    let before = feedback_stats(&mut su).0;
    service.query("SELECT * FROM vibecraft.vacuum_all_tables(wait => false)", &[]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while feedback_stats(&mut su).0 == before {
        assert!(Instant::now() < deadline, "the background vacuum never ran");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Not for users.
    let mut app = db.login_as("upkeep_user", &["vibecraft_authenticated"]);
    let mut tx = app.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, serde_json::json!({}))]).unwrap();
    assert_eq!(sqlstate(tx.query("SELECT * FROM vibecraft.vacuum_all_tables()", &[])), "42501");
}

#[test]
fn login_roles_get_the_recommended_timeouts() {
    let db = TestDb::new("upkeep_timeouts");
    let mut su = db.superuser();
    drop(db.login_as("api", &[]));
    let role = format!("{}_api", db.name);
    let said: String = su.query_one("SELECT vibecraft.apply_role_timeouts($1::text::regrole)", &[&role]).unwrap().get(0);
    assert!(said.contains("statement_timeout 00:00:30"), "{said}");
    let mut api = db.reconnect_as("api");
    let shown: Vec<String> = ["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"]
        .iter()
        .map(|s| api.query_one(&format!("SHOW {s}"), &[]).unwrap().get(0))
        .collect();
    assert_eq!(shown, ["30s", "5s", "1min"]);
    let bad = su.query_one("SELECT vibecraft.apply_role_timeouts($1::text::regrole, '0 seconds')", &[&role]);
    assert_eq!(sqlstate(bad), "22023");
}
