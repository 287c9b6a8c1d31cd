//! The schema survives pg_dump and pg_restore: every vibecraft table has the same rows.

use std::process::Command;
use vibecraft_integration_tests::{connect, superuser_dsn, TestDb};

fn pg_tool(name: &str) -> String {
    let bin = std::env::var("VIBECRAFT_PGBIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    format!("{bin}/{name}")
}

/// host/port/user of the scratch cluster, as command-line flags for pg_dump and friends.
fn conn_flags() -> Vec<String> {
    superuser_dsn()
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| match k {
            "host" => format!("--host={v}"),
            "port" => format!("--port={v}"),
            "user" => format!("--username={v}"),
            _ => panic!("unexpected key {k} in VIBECRAFT_TEST_DSN"),
        })
        .collect()
}

fn row_counts(client: &mut postgres::Client) -> Vec<(String, i64)> {
    let tables: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_class c
              WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'r' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let n: i64 = client
                .query_one(&format!("SELECT count(*) FROM vibecraft.{t}"), &[])
                .unwrap()
                .get(0);
            (t, n)
        })
        .collect()
}

#[test]
fn dump_and_restore_keeps_every_row() {
    let source = TestDb::new("schema_dump_src");
    let mut su = source.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    // Archived log rows must survive a dump too.
    su.batch_execute(
        "INSERT INTO vibecraft.admin_logs (action, created_at) VALUES ('old', now() - interval '1 year');
         INSERT INTO vibecraft.audit_logs (action, resource_type, created_at) VALUES ('update', 'old', now() - interval '1 year');
         SELECT vibecraft.archive_old_admin_logs();",
    )
    .unwrap();
    let before = row_counts(&mut su);
    assert!(before.len() >= 39, "expected the whole schema, found {} tables", before.len());
    let empty: Vec<_> = before.iter().filter(|(_, n)| *n == 0).map(|(t, _)| t.clone()).collect();
    assert!(empty.is_empty(), "demo data leaves no table empty, but these are: {empty:?}");

    let dump = std::env::temp_dir().join(format!("vibecraft-dump-{}.pgdump", std::process::id()));
    let status = Command::new(pg_tool("pg_dump"))
        .args(conn_flags())
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&source.name)
        .status()
        .expect("pg_dump runs");
    assert!(status.success(), "pg_dump failed");

    let target = "it_schema_dump_dst";
    let mut admin = connect(&format!("{} dbname=postgres", superuser_dsn()));
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {target} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {target}")).unwrap();
    // The documented restore recipe: replica mode, so that triggers (the audit trail)
    // do not fire again for restored rows.
    let output = Command::new(pg_tool("pg_restore"))
        .env("PGOPTIONS", "-c session_replication_role=replica")
        .args(conn_flags())
        .args(["--exit-on-error", "--dbname", target])
        .arg(&dump)
        .output()
        .expect("pg_restore runs");
    std::fs::remove_file(&dump).ok();
    assert!(output.status.success(), "pg_restore failed: {}", String::from_utf8_lossy(&output.stderr));

    let mut restored = connect(&format!("{} dbname={target}", superuser_dsn()));
    assert_eq!(row_counts(&mut restored), before);
    // Encrypted provider keys survive the round trip and still decrypt (same keyring).
    let key: String = restored
        .query_one("SELECT vibecraft.provider_key('openai', 'd1000000-0000-4000-8000-000000000003')", &[])
        .unwrap()
        .get(0);
    assert_eq!(key, "sk-proj-demoDemoDemoDemoDemo1234");
    // Reference rows come from CREATE EXTENSION, user rows from the dump: no duplicates.
    let providers: i64 = restored
        .query_one("SELECT count(*) FROM vibecraft.ai_providers", &[])
        .unwrap()
        .get(0);
    assert_eq!(providers, 6);
    drop(restored);
    admin.batch_execute(&format!("DROP DATABASE {target} WITH (FORCE)")).unwrap();
}
