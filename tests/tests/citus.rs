//! vibecraft on a Citus cluster: a coordinator and two workers brought up by make test's
//! Citus tier with scripts/scale.sh (the same cluster as `make scale`), which sets
//! VIBECRAFT_CITUS_DSN to the coordinator. What is tested so far: the signed-in identity
//! reaches the worker backends that run a transaction's shard queries (identity/nodes.rs),
//! keeps its guarantees there, and a hand-set one is refused on the workers.
//! docs/scale-out.md says what is not distributed yet.

use serde_json::json;
use vibecraft_integration_tests::postgres::Client;
use vibecraft_integration_tests::*;

const MIA: &str = "d1000000-0000-4000-8000-000000000003";
const ERIN: &str = "d1000000-0000-4000-8000-000000000004";

fn coordinator_dsn() -> String {
    std::env::var("VIBECRAFT_CITUS_DSN").expect("VIBECRAFT_CITUS_DSN is not set: the Citus tests run in make test's Citus tier")
}

fn coordinator(user: &str) -> Client {
    connect(&coordinator_dsn().replace("user=postgres", &format!("user={user}")))
}

/// Per worker port, the user each worker backend saw: one row per shard query.
fn seen_on_workers(tx: &mut postgres::Transaction<'_>) -> Result<Vec<(String, Option<String>)>, postgres::Error> {
    let rows = tx.query(
        "SELECT DISTINCT current_setting('port'), vibecraft.current_user_id()::text FROM it_nodes.spread ORDER BY 1",
        &[],
    )?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

#[test]
fn citus_sign_in_on_the_coordinator_holds_on_every_worker_for_its_transaction_only() {
    // A table spread over both workers (32 shards), read by a real login role.
    let mut su = coordinator("postgres");
    su.batch_execute(
        "SET client_min_messages = warning;
         DROP SCHEMA IF EXISTS it_nodes CASCADE;
         DROP ROLE IF EXISTS it_citus_app;
         CREATE ROLE it_citus_app LOGIN NOSUPERUSER IN ROLE vibecraft_authenticated;
         CREATE SCHEMA it_nodes;
         CREATE TABLE it_nodes.spread (k int PRIMARY KEY);
         SELECT create_distributed_table('it_nodes.spread', 'k');
         INSERT INTO it_nodes.spread SELECT generate_series(1, 64);
         GRANT USAGE ON SCHEMA it_nodes TO it_citus_app;
         GRANT SELECT ON it_nodes.spread TO it_citus_app;",
    )
    .unwrap();
    let workers: Vec<String> = su
        .query("SELECT nodeport::text FROM pg_dist_node WHERE groupid > 0 ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(workers.len(), 2, "the cluster has two workers");
    let everywhere = |user: Option<&str>| -> Vec<(String, Option<String>)> {
        workers.iter().map(|w| (w.clone(), user.map(str::to_string))).collect()
    };

    let mut app = coordinator("it_citus_app");
    let mut tx = app.transaction().unwrap();
    assert_eq!(seen_on_workers(&mut tx).unwrap(), everywhere(None), "nobody is signed in yet");
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    assert_eq!(seen_on_workers(&mut tx).unwrap(), everywhere(Some(MIA)), "both workers act as Mia");
    // A savepoint's sign-in is rolled back with it, on the workers too.
    tx.batch_execute("SAVEPOINT s").unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(ERIN, json!({}))]).unwrap();
    assert_eq!(seen_on_workers(&mut tx).unwrap(), everywhere(Some(ERIN)));
    tx.batch_execute("ROLLBACK TO SAVEPOINT s").unwrap();
    assert_eq!(seen_on_workers(&mut tx).unwrap(), everywhere(Some(MIA)), "the savepoint's sign-in is gone");
    // SHOW does not print the value Citus hands on.
    let shown: String = tx.query_one("SELECT current_setting('vibecraft.node_identity')", &[]).unwrap().get(0);
    assert_eq!(shown, "(set)");
    tx.query_one("SELECT vibecraft.sign_out()", &[]).unwrap();
    assert_eq!(seen_on_workers(&mut tx).unwrap(), everywhere(None), "signing out reaches the workers");
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    tx.commit().unwrap();
    // The next transaction on the same connection (and Citus' cached worker connections)
    // carries nothing over.
    let mut tx = app.transaction().unwrap();
    assert_eq!(seen_on_workers(&mut tx).unwrap(), everywhere(None), "the identity ended with its transaction");
    tx.rollback().unwrap();

    // Set by hand, it is refused on the workers, with 28000.
    let mut tx = app.transaction().unwrap();
    tx.batch_execute("SET LOCAL citus.propagate_set_commands = local").unwrap();
    let forged = node_identity_signed_with("not-the-secret", ERIN, 1, "it_citus_app", in_seconds(60));
    tx.batch_execute(&format!("SET LOCAL vibecraft.node_identity = '{forged}'")).unwrap();
    assert_eq!(sqlstate(seen_on_workers(&mut tx)), "28000");
    tx.rollback().unwrap();
    // Signed with the right secret but for another coordinator backend, or for another
    // database role (a value copied from a worker's pg_stat_activity or
    // pg_stat_statements): refused on the workers too.
    let gpid: i64 = app.query_one("SELECT pg_catalog.citus_backend_gpid()::int8", &[]).unwrap().get(0);
    for replayed in [
        node_identity_signed_with(&jwt_secret(), ERIN, 1, "it_citus_app", in_seconds(60)),
        node_identity_signed_with(&jwt_secret(), ERIN, gpid, "it_citus_other", in_seconds(60)),
    ] {
        let mut tx = app.transaction().unwrap();
        tx.batch_execute("SET LOCAL citus.propagate_set_commands = local").unwrap();
        tx.batch_execute(&format!("SET LOCAL vibecraft.node_identity = '{replayed}'")).unwrap();
        assert_eq!(sqlstate(seen_on_workers(&mut tx)), "28000");
        tx.rollback().unwrap();
    }
    // A sign-out inside a rolled-back savepoint is undone on the coordinator and on the
    // workers alike.
    let mut tx = app.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    tx.batch_execute("SAVEPOINT s").unwrap();
    tx.query_one("SELECT vibecraft.sign_out()", &[]).unwrap();
    assert_eq!(seen_on_workers(&mut tx).unwrap(), everywhere(None));
    tx.batch_execute("ROLLBACK TO SAVEPOINT s").unwrap();
    let here: Option<String> = tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(here.as_deref(), Some(MIA), "the coordinator is signed in again");
    assert_eq!(seen_on_workers(&mut tx).unwrap(), everywhere(Some(MIA)), "and so are the workers");
    tx.rollback().unwrap();

    su.batch_execute("DROP SCHEMA it_nodes CASCADE").unwrap();
}

/// A server that preloads Citus may hold databases where the citus extension is not
/// created: there vibecraft signs in as on a single server.
#[test]
fn citus_preloaded_in_a_database_without_citus_signs_in_as_on_one_server() {
    let mut su = coordinator("postgres");
    su.batch_execute("DROP DATABASE IF EXISTS it_without_citus WITH (FORCE)").unwrap();
    su.batch_execute("CREATE DATABASE it_without_citus").unwrap();
    let dsn = coordinator_dsn().replace("dbname=vibecraft", "dbname=it_without_citus");
    let mut db = connect(&dsn);
    db.batch_execute("SET client_min_messages = warning; CREATE EXTENSION vibecraft CASCADE").unwrap();
    let mut tx = db.transaction().unwrap();
    let who: String = tx.query_one("SELECT vibecraft.authenticate($1)::text", &[&token(MIA, json!({}))]).unwrap().get(0);
    assert_eq!(who, MIA);
    let shown: String = tx.query_one("SELECT current_setting('vibecraft.node_identity')", &[]).unwrap().get(0);
    assert_eq!(shown, "(unset)", "nothing to hand on without Citus in the database");
    tx.rollback().unwrap();
    drop(db);
    su.batch_execute("DROP DATABASE it_without_citus WITH (FORCE)").unwrap();
}

/// Per node, the audit rows of schema it_audit by table (shard) name prefix: (t, r).
fn audit_rows_per_node(su: &mut Client) -> Vec<(i64, i64)> {
    su.query(
        "SELECT result FROM run_command_on_all_nodes($$SELECT count(*) FILTER (WHERE resource_type LIKE 't\\_%') || ',' ||
                count(*) FILTER (WHERE resource_type LIKE 'r\\_%') FROM vibecraft.audit_logs WHERE table_schema = 'it_audit'$$)
          ORDER BY nodeid",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| {
        let counts: String = r.get(0);
        let (t, r) = counts.split_once(',').expect("two counts");
        (t.parse().unwrap(), r.parse().unwrap())
    })
    .collect()
}

/// `enable_audit` on a distributed and a reference table: writes through the coordinator
/// work (the trigger finds its shard's relation, which Citus hides from queries of
/// pg_class), and each change is recorded in the audit_logs of the node that holds the
/// copy it changed: once for a distributed table's row, on every node for a reference
/// table's (docs/scale-out.md, fact 3: not yet written once, under the table's own name).
#[test]
fn citus_audited_tables_can_be_written_and_each_change_is_recorded_where_it_happened() {
    let mut su = coordinator("postgres");
    su.batch_execute(
        "SET client_min_messages = warning;
         DROP SCHEMA IF EXISTS it_audit CASCADE;
         CREATE SCHEMA it_audit;
         CREATE TABLE it_audit.t (user_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), v int,
                                  PRIMARY KEY (user_id, id));
         CREATE TABLE it_audit.r (id int PRIMARY KEY, v int);
         SELECT vibecraft.enable_audit('it_audit.t');
         SELECT vibecraft.enable_audit('it_audit.r');
         SET citus.enable_unsafe_triggers = on;
         SELECT create_distributed_table('it_audit.t', 'user_id');
         SELECT create_reference_table('it_audit.r');",
    )
    .unwrap();
    let before = audit_rows_per_node(&mut su);
    assert_eq!(before.len(), 3, "a coordinator and two workers");
    su.batch_execute(
        "INSERT INTO it_audit.t (user_id, v) SELECT gen_random_uuid(), g FROM generate_series(1, 6) g;
         UPDATE it_audit.t SET v = v + 10;
         INSERT INTO it_audit.r SELECT g, g FROM generate_series(1, 3) g;
         UPDATE it_audit.r SET v = v + 1;",
    )
    .unwrap();
    let after = audit_rows_per_node(&mut su);
    let added: Vec<(i64, i64)> = before.iter().zip(&after).map(|(b, a)| (a.0 - b.0, a.1 - b.1)).collect();
    assert_eq!(added.iter().map(|(t, _)| t).sum::<i64>(), 12, "each of the 12 changes of the distributed table, once: {added:?}");
    assert_eq!(added[0].0, 0, "the coordinator holds no shard of the distributed table: {added:?}");
    assert!(added.iter().all(|(_, r)| *r == 6), "each copy of the reference table records its 6 changes: {added:?}");
    su.batch_execute("DROP SCHEMA it_audit CASCADE").unwrap();
}
