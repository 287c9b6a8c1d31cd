//! daily_maintenance on a big log table while the application keeps writing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vibecraft_integration_tests::TestDb;

const OLD_ROWS: i64 = 1_000_000;

/// 1,000,000 audit rows older than the archive age. While daily_maintenance archives
/// them, a writer keeps changing an audited table (each change writes an audit row too);
/// its slowest statement shows the longest it was made to wait.
#[test]
fn archiving_a_million_rows_never_blocks_a_writer_for_a_second() {
    let db = TestDb::new("mt_archive");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    su.execute(
        "INSERT INTO vibecraft.audit_logs (action, resource_type, resource_id, changes, created_at)
         SELECT 'update', 'bulk', g::text, '{\"n\": 1}', now() - interval '200 days' - g * interval '1 second'
           FROM generate_series(1, $1::bigint) g",
        &[&OLD_ROWS],
    )
    .unwrap();
    su.execute("ANALYZE vibecraft.audit_logs", &[]).unwrap();

    let mut writer = db.login_as("mt_writer", &["vibecraft_service"]);
    let mut maintainer = db.login_as("mt_maintainer", &["vibecraft_service"]);
    let stop = Arc::new(AtomicBool::new(false));
    let writing = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let update = writer
                .prepare("UPDATE vibecraft.organizations SET name = 'Demo Org ' || $1::text WHERE id = 'd0000000-0000-4000-8000-000000000001'")
                .unwrap();
            let (mut writes, mut slowest) = (0i64, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                writer.execute(&update, &[&writes.to_string()]).unwrap();
                slowest = slowest.max(started.elapsed());
                writes += 1;
            }
            (writes, slowest)
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let report: serde_json::Value = maintainer.query_one("SELECT vibecraft.daily_maintenance()", &[]).unwrap().get(0);
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let (writes, slowest) = writing.join().unwrap();

    let archived: i64 = su.query_one("SELECT count(*) FROM vibecraft.audit_logs_archive WHERE resource_type = 'bulk'", &[]).unwrap().get(0);
    let left: i64 = su.query_one("SELECT count(*) FROM vibecraft.audit_logs WHERE resource_type = 'bulk'", &[]).unwrap().get(0);
    let writer_rows: i64 = su
        .query_one("SELECT count(*) FROM vibecraft.audit_logs WHERE resource_type = 'organizations' AND action = 'update'", &[])
        .unwrap()
        .get(0);
    eprintln!(
        "maintenance: {OLD_ROWS} old audit rows archived in {:.1} s; meanwhile {writes} audited writes, the slowest {} ms; report {report}",
        took.as_secs_f64(),
        slowest.as_millis()
    );
    assert_eq!((archived, left), (OLD_ROWS, 0), "every old row moved to the archive, none lost");
    assert!(report["log_rows_archived"].as_i64().unwrap() >= OLD_ROWS);
    assert!(writes > 100, "the writer kept writing ({writes} writes)");
    assert!(writer_rows >= writes, "each write left its audit row in the live table");
    assert!(slowest < Duration::from_secs(1), "the writer waited {slowest:?} at most; it must never wait a second");
}
