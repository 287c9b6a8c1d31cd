//! The schema survives pg_dump and pg_restore, with no options as with the replica-mode
//! recipe: every vibecraft table has the same rows, and nothing more.

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

/// pg_dump of database `db` in `format` (custom or plain) to `file`.
fn dump(format: &str, db: &str, file: &std::path::Path) {
    let status = Command::new(pg_tool("pg_dump"))
        .args(conn_flags())
        .arg(format!("--format={format}"))
        .arg("--file")
        .arg(file)
        .arg(db)
        .status()
        .expect("pg_dump runs");
    assert!(status.success(), "pg_dump --format={format} failed");
}

/// Restore a dump with the plain tools and no options: pg_restore for the custom format,
/// psql for the plain one; `flags` name the server, `options` go in PGOPTIONS.
fn restore(format: &str, file: &std::path::Path, flags: &[String], db: &str, options: &str) -> std::process::Output {
    if format == "custom" {
        Command::new(pg_tool("pg_restore")).env("PGOPTIONS", options).args(flags).args(["--dbname", db]).arg(file).output()
    } else {
        Command::new(pg_tool("psql")).env("PGOPTIONS", options).args(flags).args(["-X", "-q", "--dbname", db, "-f"]).arg(file).output()
    }
    .expect("the restore runs")
}

/// Every vibecraft table: its row count and a checksum of all its rows.
fn table_contents(client: &mut postgres::Client) -> Vec<(String, i64, String)> {
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
            let row = client
                .query_one(
                    // Rows installed by CREATE EXTENSION (is_system) are made anew on
                    // restore: the same ids and contents, but new timestamps.
                    &format!(
                        "SELECT count(*), coalesce(md5(string_agg(r, '|' ORDER BY r)), '')
                           FROM (SELECT CASE WHEN coalesce((to_jsonb(x) ->> 'is_system')::boolean, false)
                                             THEN (to_jsonb(x) - 'created_at' - 'updated_at')::text
                                             ELSE x::text END AS r
                                   FROM vibecraft.{t} x) y"
                    ),
                    &[],
                )
                .unwrap();
            (t, row.get(0), row.get(1))
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
    let before = table_contents(&mut su);
    assert!(before.len() >= 39, "expected the whole schema, found {} tables", before.len());
    let empty: Vec<_> = before.iter().filter(|(_, n, _)| *n == 0).map(|(t, _, _)| t.clone()).collect();
    assert!(empty.is_empty(), "demo data leaves no table empty, but these are: {empty:?}");

    // Both formats, each restored twice: with the plain tools and no options at all, as
    // every backup tool runs them (the triggers that derive rows recognise the restore and
    // stay quiet), and by the replica-mode recipe, in which no trigger fires.
    for (format, recipe) in [("custom", "plain"), ("plain", "plain"), ("custom", "replica"), ("plain", "replica")] {
        let file = std::env::temp_dir().join(format!("vibecraft-dump-{}.{format}", std::process::id()));
        dump(format, &source.name, &file);

        let target = format!("it_schema_dump_{format}_{recipe}");
        let mut admin = connect(&format!("{} dbname=postgres", superuser_dsn()));
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {target} WITH (FORCE)")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {target}")).unwrap();
        let options = if recipe == "replica" { "-c session_replication_role=replica" } else { "" };
        let output = restore(format, &file, &conn_flags(), &target, options);
        std::fs::remove_file(&file).ok();
        // No option stops at the first error, so the restore must report none at all.
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && !stderr.contains("ERROR"),
            "restoring the {format} dump ({recipe}) reported errors: {stderr}"
        );

        let mut restored = connect(&format!("{} dbname={target}", superuser_dsn()));
        let after = table_contents(&mut restored);
        let differ: Vec<_> = before.iter().zip(&after).filter(|(b, a)| b != a).map(|(b, a)| (&b.0, b.1, a.1)).collect();
        assert!(differ.is_empty() && before.len() == after.len(), "{format} dump ({recipe}): tables whose rows differ (table, before, after): {differ:?}");
        // Encrypted provider keys survive the round trip and still decrypt (same keyring).
        let key: String = restored
            .query_one("SELECT vibecraft.provider_key('openai', 'd1000000-0000-4000-8000-000000000003')", &[])
            .unwrap()
            .get(0);
        assert_eq!(key, "sk-proj-demoDemoDemoDemoDemo1234", "{format} dump ({recipe})");
        // And the restored database is consistent.
        let failed: i64 = restored
            .query_one("SELECT count(*) FROM vibecraft.validate_system_integrity() WHERE status = 'failed'", &[])
            .unwrap()
            .get(0);
        assert_eq!(failed, 0, "{format} dump ({recipe}): integrity checks failed after the restore");
        drop(restored);
        admin.batch_execute(&format!("DROP DATABASE {target} WITH (FORCE)")).unwrap();
    }
}

/// The project's cluster.sh, which makes a cluster of its own as the OS user postgres.
fn cluster_script(args: &[&str]) -> std::process::Output {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    Command::new("bash")
        .arg(root.join("scripts/cluster.sh"))
        .args(args)
        // Its own cluster: no pg_cron (the scratch cluster's cron database is not there).
        .env_remove("VIBECRAFT_CRON_DATABASE")
        .output()
        .expect("cluster.sh runs")
}

/// A move to a new server, as docs/dba.md (section 7) tells it: the keyring and the JWT
/// secret copied into the new server's configuration (here: the same VIBECRAFT_* settings
/// for its cluster), `pg_dumpall --roles-only` restored, then the database dump, in both
/// formats, with no options. Rows, roles and row-level security come back; provider keys
/// still decrypt.
#[test]
fn a_new_cluster_gets_the_roles_the_rows_and_the_keyring() {
    let source = TestDb::new("schema_move_src");
    let mut su = source.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    drop(source.login_as("mover_app", &["vibecraft_authenticated"]));
    let app_role = format!("{}_mover_app", source.name);
    let before = table_contents(&mut su);

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let data = root.join("target/restore-cluster");
    let data = data.to_str().unwrap();
    let port = "28817"; // make run uses 28815, make test 28816, make bench 28819
    cluster_script(&["wipe", data]);
    let started = cluster_script(&["start", port, data]);
    assert!(started.status.success(), "the new cluster did not start: {}", String::from_utf8_lossy(&started.stderr));
    let new_flags = vec!["--host=localhost".to_string(), format!("--port={port}"), "--username=postgres".to_string()];

    let roles = Command::new(pg_tool("pg_dumpall")).args(conn_flags()).arg("--roles-only").output().expect("pg_dumpall runs");
    assert!(roles.status.success());
    let roles_file = std::env::temp_dir().join(format!("vibecraft-roles-{}.sql", std::process::id()));
    std::fs::write(&roles_file, &roles.stdout).unwrap();
    let loaded = Command::new(pg_tool("psql")).args(&new_flags).args(["-X", "-q", "--dbname", "postgres", "-f"]).arg(&roles_file).output().unwrap();
    std::fs::remove_file(&roles_file).ok();
    // The one expected complaint: the new cluster has its own postgres role already.
    let complaints: Vec<String> = String::from_utf8_lossy(&loaded.stderr)
        .lines()
        .filter(|l| l.contains("ERROR") && !l.contains("role \"postgres\" already exists"))
        .map(str::to_string)
        .collect();
    assert!(complaints.is_empty(), "restoring the roles: {complaints:?}");

    // Both formats, each into a database of its own on the new cluster.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for format in ["custom", "plain"] {
            let file = std::env::temp_dir().join(format!("vibecraft-move-{}.{format}", std::process::id()));
            dump(format, &source.name, &file);
            let target = format!("moved_{format}");
            let created = Command::new(pg_tool("createdb")).args(&new_flags).arg(&target).status().unwrap();
            assert!(created.success());
            let restored = restore(format, &file, &new_flags, &target, "");
            std::fs::remove_file(&file).ok();
            let stderr = String::from_utf8_lossy(&restored.stderr);
            assert!(restored.status.success() && !stderr.contains("ERROR"), "restoring the {format} dump into the new cluster: {stderr}");
            let mut moved = connect(&format!("host=localhost port={port} user=postgres dbname={target}"));
            let after = table_contents(&mut moved);
            assert_eq!(before, after, "the rows on the new cluster ({format})");
            let key: String = moved
                .query_one("SELECT vibecraft.provider_key('openai', 'd1000000-0000-4000-8000-000000000003')", &[])
                .unwrap()
                .get(0);
            assert_eq!(key, "sk-proj-demoDemoDemoDemoDemo1234", "the keyring came along ({format})");
            let failed: i64 = moved.query_one("SELECT count(*) FROM vibecraft.validate_system_integrity() WHERE status = 'failed'", &[]).unwrap().get(0);
            assert_eq!(failed, 0, "{format}");
            // The application's login role signs in there and sees its own rows only.
            let mut app = connect(&format!("host=localhost port={port} user={app_role} dbname={target}"));
            let mut tx = app.transaction().unwrap();
            tx.query_one("SELECT vibecraft.authenticate($1)", &[&vibecraft_integration_tests::token("d1000000-0000-4000-8000-000000000003", serde_json::json!({}))])
                .unwrap();
            let users: i64 = tx.query_one("SELECT count(*) FROM vibecraft.users", &[]).unwrap().get(0);
            let all: i64 = moved.query_one("SELECT count(*) FROM vibecraft.users", &[]).unwrap().get(0);
            assert!(users >= 1 && users < all, "row-level security on the new cluster ({format}): {users} of {all}");
        }
    }));
    cluster_script(&["wipe", data]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
