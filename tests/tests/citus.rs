//! vibecraft on a Citus cluster: a coordinator and two workers brought up by make test's
//! Citus tier with scripts/scale.sh (the same cluster as `make scale`: the schema
//! distributed by vibecraft.distribute_on_citus(), the demo data written through the
//! coordinator), which sets VIBECRAFT_CITUS_DSN to the coordinator and VIBECRAFT_CITUS_DATA
//! to the nodes' data. Tested: the plan as applied; the signed-in identity on the worker
//! backends (identity/nodes.rs) and isolation as real login roles; credits and idempotency
//! keys under 8 connections to users on both workers; the rate limit; integrity and
//! maintenance; the audit trail; and what a worker's crash costs (docs/scale-out.md).

use serde_json::json;
use std::time::{Duration, Instant};
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

/// Per node, the audit rows of schema it_audit by table name: (t, r), and those naming
/// anything else (a shard).
fn audit_rows_per_node(su: &mut Client) -> Vec<(i64, i64, i64)> {
    su.query(
        "SELECT result FROM run_command_on_all_nodes($$SELECT count(*) FILTER (WHERE resource_type = 't') || ',' ||
                count(*) FILTER (WHERE resource_type = 'r') || ',' || count(*) FILTER (WHERE resource_type NOT IN ('t', 'r'))
                FROM vibecraft.audit_logs WHERE table_schema = 'it_audit'$$)
          ORDER BY nodeid",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| {
        let counts: String = r.get(0);
        let n: Vec<i64> = counts.split(',').map(|c| c.parse().unwrap()).collect();
        (n[0], n[1], n[2])
    })
    .collect()
}

/// `enable_audit` on a distributed and a reference table: writes through the coordinator
/// work (the trigger finds its shard's relation, which Citus hides from queries of
/// pg_class), and each change is recorded once, under the table's own name, in the
/// audit_logs of the node that holds the copy it changed: a distributed table's on the
/// worker with the row, a reference table's on the coordinator (the copy in the lowest
/// node group), not once per copy (docs/scale-out.md).
/// Schema it_audit: a distributed table `t` (by user) and a reference table `r`, both
/// audited, and no audit row of it on any node from an earlier test.
fn audited_citus_tables(su: &mut Client) {
    su.batch_execute(
        "SET client_min_messages = warning;
         DROP SCHEMA IF EXISTS it_audit CASCADE;
         SELECT run_command_on_all_nodes($$DELETE FROM vibecraft.audit_logs WHERE table_schema = 'it_audit'$$);
         CREATE SCHEMA it_audit;
         CREATE TABLE it_audit.t (user_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), v int,
                                  PRIMARY KEY (user_id, id));
         CREATE TABLE it_audit.r (id int PRIMARY KEY, v int);
         SELECT vibecraft.enable_audit('it_audit.t');
         SELECT vibecraft.enable_audit('it_audit.r');
         SET citus.enable_unsafe_triggers = on;
         SELECT create_distributed_table('it_audit.t', 'user_id');
         SELECT create_reference_table('it_audit.r');
         RESET citus.enable_unsafe_triggers;",
    )
    .unwrap();
}

#[test]
fn citus_audited_tables_can_be_written_and_each_change_is_recorded_where_it_happened() {
    let mut su = coordinator("postgres");
    audited_citus_tables(&mut su);
    let before = audit_rows_per_node(&mut su);
    assert_eq!(before.len(), 3, "a coordinator and two workers");
    su.batch_execute(
        "INSERT INTO it_audit.t (user_id, v) SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, g FROM generate_series(1, 6) g;
         UPDATE it_audit.t SET v = v + 10;
         INSERT INTO it_audit.r SELECT g, g FROM generate_series(1, 3) g;
         UPDATE it_audit.r SET v = v + 1;",
    )
    .unwrap();
    let after = audit_rows_per_node(&mut su);
    let added: Vec<(i64, i64, i64)> = before.iter().zip(&after).map(|(b, a)| (a.0 - b.0, a.1 - b.1, a.2 - b.2)).collect();
    assert_eq!(added.iter().map(|a| a.0).sum::<i64>(), 12, "each of the 12 changes of the distributed table, once: {added:?}");
    assert_eq!(added[0].0, 0, "the coordinator holds no shard of the distributed table: {added:?}");
    assert!(added[1].0 > 0 && added[2].0 > 0, "the six users' rows are on both workers: {added:?}");
    assert_eq!(added.iter().map(|a| a.1).collect::<Vec<_>>(), vec![6, 0, 0], "the reference table's 6 changes, once, on the coordinator: {added:?}");
    assert!(added.iter().all(|a| a.2 == 0), "no row names a shard: {added:?}");
    su.batch_execute("DROP SCHEMA it_audit CASCADE").unwrap();
}

/// The workers' audit rows reach the coordinator's audit_logs (where audit_history(), the
/// admins' policy and the archiving read them) through collect_audit_rows(): a run copies
/// them, the next deletes them on the workers; a run that rolls back, or a second run in
/// one transaction, deletes nothing there; no row is copied twice; signed-in users who are
/// not staff are refused.
#[test]
fn citus_collect_audit_rows_moves_the_workers_audit_rows_to_the_coordinator_without_losing_any() {
    let mut su = coordinator("postgres");
    audited_citus_tables(&mut su);
    // (coordinator, workers): rows of the distributed table it_audit.t
    let counts = |su: &mut Client| -> (i64, i64) {
        let here: i64 = su
            .query_one("SELECT count(*) FROM vibecraft.audit_logs WHERE table_schema = 'it_audit' AND resource_type = 't'", &[])
            .unwrap()
            .get(0);
        let workers: i64 = su
            .query_one(
                "SELECT coalesce(sum(result::int8), 0)::int8 FROM run_command_on_workers($$SELECT count(*) FROM vibecraft.audit_logs
                  WHERE table_schema = 'it_audit' AND resource_type = 't'$$)",
                &[],
            )
            .unwrap()
            .get(0);
        (here, workers)
    };
    su.batch_execute("INSERT INTO it_audit.t (user_id, v) SELECT gen_random_uuid(), g FROM generate_series(1, 10) g").unwrap();
    assert_eq!(counts(&mut su), (0, 10), "written on the workers");

    let mut tx = su.transaction().unwrap();
    for _ in 0..2 {
        tx.query_one("SELECT vibecraft.collect_audit_rows(batch_size => 3)", &[]).unwrap();
    }
    tx.rollback().unwrap();
    assert_eq!(counts(&mut su), (0, 10), "two runs in a transaction that rolled back deleted nothing on the workers");

    let first: serde_json::Value = su.query_one("SELECT vibecraft.collect_audit_rows(batch_size => 3)", &[]).unwrap().get(0);
    assert_eq!(first["nodes"], json!(2), "{first}");
    assert!(first["copied"].as_i64().unwrap() >= 10, "{first}");
    assert_eq!(counts(&mut su), (10, 10), "copied, and still on the workers until the copy is committed: {first}");
    let second: serde_json::Value = su.query_one("SELECT vibecraft.collect_audit_rows()", &[]).unwrap().get(0);
    assert!(second["cleared_on_nodes"].as_i64().unwrap() >= 10, "{second}");
    assert_eq!(counts(&mut su), (10, 0), "deleted on the workers, once, without a second copy: {second}");
    let row: String = su.query_one("SELECT id::text FROM it_audit.t LIMIT 1", &[]).unwrap().get(0);
    let history: i64 = su.query_one("SELECT count(*) FROM vibecraft.audit_history('it_audit.t', $1)", &[&row]).unwrap().get(0);
    assert_eq!(history, 1, "audit_history on the coordinator finds the row's INSERT");

    login_role(&mut su, "it_citus_user", "vibecraft_authenticated");
    let mut app = coordinator("it_citus_user");
    let mut tx = app.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    assert_eq!(sqlstate(tx.batch_execute("SELECT vibecraft.collect_audit_rows()")), "42501", "not for a signed-in user");
    drop(tx);
    su.batch_execute("DROP SCHEMA it_audit CASCADE").unwrap();
}

/// The worker port that holds a user's shard of the tables distributed by user.
fn worker_of(su: &mut Client, user: &str) -> i32 {
    su.query_one(
        "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n ON n.groupid = p.groupid
          WHERE p.shardid = get_shard_id_for_distribution_column('vibecraft.credit_balances', $1::text::uuid)",
        &[&user],
    )
    .unwrap()
    .get(0)
}

/// `n` new users, alternately on the first and the second worker (drawn until each
/// worker has its half), each with `credits` credits.
fn users_on_both_workers(su: &mut Client, n: usize, credits: i32) -> Vec<String> {
    let workers: Vec<i32> = su
        .query("SELECT nodeport FROM pg_dist_node WHERE groupid > 0 ORDER BY groupid", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut halves: Vec<Vec<String>> = vec![Vec::new(), Vec::new()];
    while halves.iter().any(|h| h.len() < n / 2) {
        let u: String = su.query_one("SELECT gen_random_uuid()::text", &[]).unwrap().get(0);
        let half = &mut halves[workers.iter().position(|w| *w == worker_of(su, &u)).expect("a worker's shard")];
        if half.len() < n / 2 {
            half.push(u);
        }
    }
    let users: Vec<String> = (0..n).map(|i| halves[i % 2][i / 2].clone()).collect();
    for u in &users {
        su.execute("INSERT INTO vibecraft.users (id, email) VALUES ($1::text::uuid, $2)", &[u, &format!("{u}@citus.example")]).unwrap();
        su.query_one("SELECT vibecraft.add_credits($1::text::uuid, $2, 'citus test')", &[u, &credits]).unwrap();
    }
    users
}

/// (balance, sum of the ledger) of a user, read through the coordinator.
fn balance_and_ledger(su: &mut Client, user: &str) -> (i32, i64) {
    let balance: i32 = su
        .query_one("SELECT credits FROM vibecraft.credit_balances WHERE user_id = $1::text::uuid", &[&user])
        .unwrap()
        .get(0);
    let ledger: i64 = su
        .query_one("SELECT coalesce(sum(amount), 0)::int8 FROM vibecraft.credit_ledger WHERE user_id = $1::text::uuid", &[&user])
        .unwrap()
        .get(0);
    (balance, ledger)
}

fn login_role(su: &mut Client, role: &str, group: &str) {
    su.batch_execute(&format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
             CREATE ROLE {role} LOGIN NOSUPERUSER IN ROLE {group}; END IF; END $$"
    ))
    .unwrap();
}

/// `make scale` applied the plan: every table is what vibecraft.scale_out_plan() says
/// (reference, distributed by its column and co-located with its group, or left on the
/// coordinator), and the demo data, written through the coordinator, is on both workers.
#[test]
fn citus_the_schema_is_distributed_as_planned_and_the_demo_data_is_on_both_workers() {
    let mut su = coordinator("postgres");
    let misplaced: Vec<String> = su
        .query(
            "SELECT s.table_name || ': planned ' || s.placement || ', is ' || s.citus_table_type || coalesce(' by ' || s.distribution_column, '')
               FROM vibecraft.scale_out_status() s JOIN vibecraft.scale_out_plan() p USING (table_name)
              WHERE s.citus_table_type IS DISTINCT FROM CASE p.placement WHEN 'reference' THEN 'reference'
                                                                      WHEN 'coordinator' THEN 'not a Citus table' ELSE 'distributed' END
                 OR s.distribution_column IS DISTINCT FROM p.distribution_column",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(misplaced.is_empty(), "{misplaced:?}");
    let (distributed, reference): (i64, i64) = {
        let r = su
            .query_one(
                "SELECT count(*) FILTER (WHERE citus_table_type = 'distributed'), count(*) FILTER (WHERE citus_table_type = 'reference')
                   FROM vibecraft.scale_out_status()",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((distributed, reference), (25, 13), "25 tenant tables distributed, 13 reference tables");
    let split_groups: Vec<String> = su
        .query(
            "SELECT placement FROM vibecraft.scale_out_status() WHERE placement LIKE 'by %'
              GROUP BY placement HAVING count(DISTINCT colocation_id) <> 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(split_groups.is_empty(), "each group is one co-location group: {split_groups:?}");
    for table in ["vibecraft.prompt_history", "vibecraft.credit_ledger", "vibecraft.credit_balances"] {
        let per_worker: Vec<i64> = su
            .query(
                "SELECT sum(result::int8)::int8 FROM run_command_on_placements($1::text::regclass, 'SELECT count(*) FROM %s') GROUP BY nodeport ORDER BY nodeport",
                &[&table],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(per_worker.len() == 2 && per_worker.iter().all(|n| *n > 0), "{table}: rows per worker {per_worker:?}");
    }
    // The derived rows the triggers write on the nodes: the owners' memberships on every
    // copy of project_members, a balance for every user.
    let copies: Vec<String> = su
        .query("SELECT result FROM run_command_on_placements('vibecraft.project_members', $$SELECT count(*) FILTER (WHERE role = 'owner') FROM %s$$)", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(copies.len() == 3 && copies.iter().all(|c| c == "2"), "each node's copy has the 2 demo owners: {copies:?}");
    let (users, balances): (i64, i64) = {
        let r = su
            .query_one("SELECT (SELECT count(*) FROM vibecraft.users), (SELECT count(*) FROM vibecraft.credit_balances)", &[])
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(users, balances, "every user has its balance row, on its shard");
}

/// Two users of different organizations, as a real login role through the coordinator:
/// each reads and changes its own rows only, on whichever worker they are.
#[test]
fn citus_users_read_and_change_only_their_own_rows_through_the_coordinator() {
    let mut su = coordinator("postgres");
    login_role(&mut su, "it_citus_user", "vibecraft_authenticated");
    let mut app = coordinator("it_citus_user");
    let own_count = |su: &mut Client, table: &str, user: &str| -> i64 {
        su.query_one(&format!("SELECT count(*) FROM vibecraft.{table} WHERE user_id = $1::text::uuid"), &[&user]).unwrap().get(0)
    };
    for (user, other) in [(MIA, ERIN), (ERIN, MIA)] {
        let mut tx = app.transaction().unwrap();
        tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(user, json!({}))]).unwrap();
        for table in ["credit_ledger", "credit_balances", "api_usage_logs", "orders"] {
            let row = tx
                .query_one(
                    &format!("SELECT count(*), count(*) FILTER (WHERE user_id <> $1::text::uuid) FROM vibecraft.{table}"),
                    &[&user],
                )
                .unwrap();
            let (seen, others): (i64, i64) = (row.get(0), row.get(1));
            assert_eq!(others, 0, "{user} sees no one else's {table}");
            assert_eq!(seen, own_count(&mut su, table, user), "{user} sees all of its own {table}");
        }
        let profiles = tx
            .query_one(
                "SELECT (SELECT credits FROM vibecraft.user_profiles WHERE id = $1::text::uuid),
                        (SELECT credits FROM vibecraft.user_profiles WHERE id = $2::text::uuid)",
                &[&user, &other],
            )
            .unwrap();
        assert!(profiles.get::<_, Option<i32>>(0).is_some() && profiles.get::<_, Option<i32>>(1).is_none(), "own balance only");
        let stats: serde_json::Value = tx.query_one("SELECT vibecraft.get_user_stats($1::text::uuid)", &[&user]).unwrap().get(0);
        let recount: serde_json::Value = tx.query_one("SELECT vibecraft.recount_user_stats($1::text::uuid)", &[&user]).unwrap().get(0);
        assert_eq!(stats, recount, "the running totals on the shards match a recount");
        tx.rollback().unwrap();
        for (what, sql) in [
            ("spend another user's credits", format!("SELECT vibecraft.deduct_credits('{other}', 1)")),
            ("read another user's statistics", format!("SELECT vibecraft.get_user_stats('{other}')")),
            ("write its own balance", "UPDATE vibecraft.credit_balances SET credits = 1000000".to_string()),
            ("write history for another user", format!("INSERT INTO vibecraft.prompt_history (user_id, user_input) VALUES ('{other}', 'x')")),
        ] {
            let mut tx = app.transaction().unwrap();
            tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(user, json!({}))]).unwrap();
            assert_eq!(sqlstate(tx.batch_execute(&sql)), "42501", "{user} cannot {what}");
        }
    }
}

/// Credits and idempotency keys under 8 connections deducting from 8 users whose
/// balances are on both workers: every balance is exact, the ledger sums to it, a
/// repeated key takes credits once.
#[test]
fn citus_credits_stay_exact_under_eight_connections_to_users_on_both_workers() {
    let mut su = coordinator("postgres");
    login_role(&mut su, "it_citus_service", "vibecraft_service");
    let start = 100_000;
    let users = users_on_both_workers(&mut su, 8, start);
    let deadline = Instant::now() + Duration::from_secs(8);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let users = users.clone();
            std::thread::spawn(move || {
                let mut c = coordinator("it_citus_service");
                let mut taken = vec![0i64; users.len()];
                // The same key from every connection, for every user: taken once.
                for u in &users {
                    let ok: bool = c
                        .query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 7, 'once', 'citus-once')", &[u])
                        .unwrap()
                        .get(0);
                    assert!(ok, "a repeated key answers as the first call did");
                }
                let mut k = t;
                while Instant::now() < deadline {
                    let i = k % users.len();
                    let ok: bool = c.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 1, 'load')", &[&users[i]]).unwrap().get(0);
                    taken[i] += ok as i64;
                    k += 1;
                }
                taken
            })
        })
        .collect();
    let mut taken = vec![0i64; users.len()];
    for t in threads {
        for (i, n) in t.join().unwrap().into_iter().enumerate() {
            taken[i] += n;
        }
    }
    for (i, u) in users.iter().enumerate() {
        let (balance, ledger) = balance_and_ledger(&mut su, u);
        assert_eq!(balance as i64, start as i64 - 7 - taken[i], "{u}: every success took one credit, the repeated key seven once");
        assert_eq!(ledger, balance as i64, "{u}: the ledger sums to the balance");
        let once: i64 = su
            .query_one("SELECT count(*) FROM vibecraft.credit_ledger WHERE user_id = $1::text::uuid AND idempotency_key = 'citus-once'", &[u])
            .unwrap()
            .get(0);
        assert_eq!(once, 1, "{u}: one ledger row for the repeated key");
    }
    let negative: i64 = su
        .query_one("SELECT count(*) FROM vibecraft.credit_ledger WHERE balance_after < 0", &[])
        .unwrap()
        .get(0);
    assert_eq!(negative, 0);
    eprintln!("citus credits: {} deductions in 8 s over 8 connections to 8 users on 2 workers", taken.iter().sum::<i64>());
}

/// The rate limit counts in the shared memory of the node it is called on: through the
/// one coordinator, 8 connections together are admitted exactly the limit.
#[test]
fn citus_the_rate_limit_holds_across_connections_to_the_coordinator() {
    let mut su = coordinator("postgres");
    login_role(&mut su, "it_citus_service", "vibecraft_service");
    let action: String = su.query_one("SELECT 'citus:' || gen_random_uuid()", &[]).unwrap().get(0);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let action = action.clone();
            std::thread::spawn(move || {
                let mut c = coordinator("it_citus_service");
                (0..40)
                    .filter(|_| {
                        c.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, $2, 50, '1 hour')", &[&MIA, &action])
                            .unwrap()
                            .get::<_, bool>(0)
                    })
                    .count()
            })
        })
        .collect();
    let admitted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(admitted, 50, "320 calls, 50 admitted");
}

/// The integrity checks and the daily maintenance run on the coordinator and reach every
/// shard: a clean cluster passes every check, and an orphan and a drifted total planted
/// on a worker's shard are found.
#[test]
fn citus_integrity_checks_and_maintenance_reach_every_shard() {
    let mut su = coordinator("postgres");
    let failed: Vec<String> = su
        .query("SELECT check_name || ': ' || detail::text FROM vibecraft.validate_system_integrity() WHERE status <> 'ok'", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    let report: serde_json::Value = su.query_one("SELECT vibecraft.daily_maintenance()", &[]).unwrap().get(0);
    assert!(report.get("history_rows_past_retention").is_some(), "{report}");
    // A drift planted in one shard, on the worker itself, without triggers.
    let users = users_on_both_workers(&mut su, 2, 10);
    let user = &users[0];
    su.execute(
        "SELECT run_command_on_placements('vibecraft.credit_balances',
                 format('UPDATE %%s SET credits = credits + 5 WHERE user_id = %L', $1::text))",
        &[user],
    )
    .unwrap();
    let drift: serde_json::Value = su
        .query_one("SELECT detail FROM vibecraft.validate_system_integrity() WHERE check_name = 'ledger_matches_balance'", &[])
        .unwrap()
        .get(0);
    assert_eq!(drift["user_ids"], json!([user]), "{drift}");
    su.execute("SELECT run_command_on_placements('vibecraft.credit_balances', format('UPDATE %%s SET credits = credits - 5 WHERE user_id = %L', $1::text))", &[user])
        .unwrap();
}

/// A worker crashes (immediate shutdown) while 8 connections deduct credits from users on
/// both workers: calls for users on the lost worker fail with an error the application
/// sees, the other worker's users go on, and after the worker's restart nothing that was
/// reported committed is lost (the ledger still sums to every balance).
#[test]
fn citus_a_worker_crash_mid_load_loses_nothing_committed() {
    let data = std::env::var("VIBECRAFT_CITUS_DATA").expect("VIBECRAFT_CITUS_DATA is not set: the Citus tier sets it");
    let mut su = coordinator("postgres");
    login_role(&mut su, "it_citus_service", "vibecraft_service");
    let users = users_on_both_workers(&mut su, 8, 100000);
    let ports: Vec<i32> = users.iter().map(|u| worker_of(&mut su, u)).collect();
    let (worker_ports, worker_dirs) = {
        let rows = su.query("SELECT nodeport FROM pg_dist_node WHERE groupid > 0 ORDER BY groupid", &[]).unwrap();
        let ports: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
        (ports, vec![format!("{data}/worker1"), format!("{data}/worker2")])
    };
    let lost = worker_ports[1];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (user, stop) = (users[t].clone(), stop.clone());
            std::thread::spawn(move || {
                let mut c = coordinator("it_citus_service");
                let (mut committed, mut failed, mut first_error) = (0i64, 0i64, None);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match c.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 1, 'crash load')", &[&user]) {
                        Ok(row) => committed += row.get::<_, bool>(0) as i64,
                        Err(e) => {
                            failed += 1;
                            first_error.get_or_insert_with(|| e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{}: {}", d.code().code(), d.message())));
                            if c.is_closed() {
                                c = coordinator("it_citus_service");
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
                (committed, failed, first_error)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let script = format!("{}/../scripts/cluster.sh", env!("CARGO_MANIFEST_DIR"));
    let crashed = std::process::Command::new("bash").args([&script, "crash", &worker_dirs[1]]).status().unwrap();
    assert!(crashed.success(), "the second worker stopped at once");
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let results: Vec<(i64, i64, Option<String>)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let version = std::fs::read_to_string(format!("{}/PG_VERSION", worker_dirs[1])).expect("the worker's PG_VERSION");
    let started = std::process::Command::new("bash")
        .env("PG", version.trim())
        .args([&script, "start", &lost.to_string(), &worker_dirs[1]])
        .status()
        .unwrap();
    assert!(started.success(), "the worker starts again (crash recovery)");
    // A deduction is a two-phase commit (the ledger row comes through the coordinator):
    // one the coordinator reported committed may still be prepared on the crashed worker.
    // Citus finishes such transactions by itself (citus.recover_2pc_interval, a minute by
    // default); the test asks at once.
    let prepared: i64 = connect(&format!("host=localhost port={lost} user=postgres dbname=vibecraft"))
        .query_one("SELECT count(*) FROM pg_prepared_xacts", &[])
        .unwrap()
        .get(0);
    // (A new session: the old one's cached connection to the lost worker is dead.)
    let mut su = coordinator("postgres");
    su.query_one("SELECT recover_prepared_transactions()", &[]).unwrap();
    eprintln!("citus crash: {prepared} transaction(s) left prepared on the lost worker, finished by recover_prepared_transactions()");
    for (i, u) in users.iter().enumerate() {
        let (committed, failed, error) = &results[i];
        let (balance, ledger) = balance_and_ledger(&mut su, u);
        assert_eq!(ledger, balance as i64, "{u}: the ledger sums to the balance after the crash");
        let spent = 100000 - balance as i64;
        if ports[i] == lost {
            assert!(*failed > 0, "{u}: calls for a user on the lost worker fail");
            // A call in flight when the worker stopped may have committed there before
            // the coordinator heard back: at most one per connection.
            assert!(spent >= *committed && spent <= committed + 1, "{u}: spent {spent}, reported {committed}");
            eprintln!("citus crash: a call for a user on the lost worker saw: {}", error.as_deref().unwrap_or(""));
        } else {
            assert_eq!(spent, *committed, "{u}: every reported deduction is there, no other");
            assert_eq!(*failed, 0, "{u}: users on the other worker are not affected: {error:?}");
        }
    }
}

/// PostgREST sets the request claims with set_config(), which Citus does not pass on: the
/// workers' policies see no one, until PostgREST's db-pre-request function
/// (vibecraft.postgrest_pre_request) signs the claims' user in, which reaches them.
#[test]
fn citus_postgrest_claims_reach_the_workers_through_the_pre_request_function() {
    let mut su = coordinator("postgres");
    login_role(&mut su, "it_citus_rest", "vibecraft_authenticated");
    su.batch_execute("ALTER ROLE it_citus_rest SET vibecraft.trust_request_claims = on").unwrap();
    let mine: i64 = su
        .query_one("SELECT count(*) FROM vibecraft.credit_ledger WHERE user_id = $1::text::uuid", &[&MIA])
        .unwrap()
        .get(0);
    assert!(mine > 0, "the demo data gives Mia a ledger");
    let mut rest = coordinator("it_citus_rest");
    let claims = json!({ "sub": MIA, "role": "authenticated" }).to_string();
    let ledger = |rest: &mut Client, pre_request: bool| -> i64 {
        let mut tx = rest.transaction().unwrap();
        tx.execute("SELECT set_config('request.jwt.claims', $1, true)", &[&claims]).unwrap();
        if pre_request {
            tx.execute("SELECT vibecraft.postgrest_pre_request()", &[]).unwrap();
        }
        let n: i64 = tx.query_one("SELECT count(*) FROM vibecraft.credit_ledger", &[]).unwrap().get(0);
        tx.rollback().unwrap();
        n
    };
    assert_eq!(ledger(&mut rest, false), 0, "without the pre-request function the workers see no one");
    assert_eq!(ledger(&mut rest, true), mine, "with it, the claims' user reads its own ledger on the workers");
}

/// A signed-in user orders with credits and cancels the order through the coordinator: the
/// order's shard triggers run under vibecraft's owner rights with the user's identity, and
/// the refund trigger gives the credits back on the order's one shard.
#[test]
fn citus_a_signed_in_user_orders_with_credits_and_cancels_for_a_refund() {
    let mut su = coordinator("postgres");
    login_role(&mut su, "it_citus_user", "vibecraft_authenticated");
    let users = users_on_both_workers(&mut su, 2, 100);
    let mut app = coordinator("it_citus_user");
    for user in &users {
        let mut tx = app.transaction().unwrap();
        tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(user, json!({}))]).unwrap();
        let order: String = tx
            .query_one("SELECT vibecraft.create_order($1::text::uuid, 'ai_generation', 30)::text", &[user])
            .unwrap()
            .get(0);
        let left: i32 = tx.query_one("SELECT vibecraft.get_user_credits($1::text::uuid)", &[user]).unwrap().get(0);
        assert_eq!(left, 70, "{user}: the order took its credits");
        let cancelled: bool = tx.query_one("SELECT vibecraft.cancel_order($1::text::uuid)", &[&order]).unwrap().get(0);
        assert!(cancelled);
        tx.commit().unwrap();
        let (balance, ledger) = balance_and_ledger(&mut su, user);
        assert_eq!((balance, ledger), (100, 100), "{user}: the cancelled order's credits came back, once, in the ledger");
        let mut tx = app.transaction().unwrap();
        tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(user, json!({}))]).unwrap();
        assert_eq!(sqlstate(tx.query_one("SELECT vibecraft.cancel_order($1::text::uuid)", &[&order])), "42501", "only pending orders");
        tx.rollback().unwrap();
    }
    // Another user's order is "no such order of yours".
    let mut tx = app.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(&users[0], json!({}))]).unwrap();
    let theirs: String = su
        .query_one("SELECT id::text FROM vibecraft.orders WHERE user_id = $1::text::uuid LIMIT 1", &[&users[1]])
        .unwrap()
        .get(0);
    assert_eq!(sqlstate(tx.query_one("SELECT vibecraft.cancel_order($1::text::uuid)", &[&theirs])), "42501");
}

/// API key uses validated through the coordinator are counted once each: the flush writes
/// api_keys, a reference table, on every node's copy alike.
#[test]
fn citus_api_key_uses_are_counted_on_every_copy_of_the_key() {
    let mut su = coordinator("postgres");
    login_role(&mut su, "it_citus_user", "vibecraft_authenticated");
    login_role(&mut su, "it_citus_service", "vibecraft_service");
    let mut app = coordinator("it_citus_user");
    let mut tx = app.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    let key: String = tx.query_one("SELECT vibecraft.create_api_key('citus uses', '{}')", &[]).unwrap().get(0);
    tx.commit().unwrap();
    let mut service = coordinator("it_citus_service");
    for _ in 0..3 {
        let valid: bool = service.query_one("SELECT valid FROM vibecraft.validate_api_key($1)", &[&key]).unwrap().get(0);
        assert!(valid);
    }
    service.query_one("SELECT vibecraft.flush_api_key_usage()", &[]).unwrap();
    let prefix: String = key[.."vc_live_".len() + 8].to_string(); // vc_live_<8 hex id>_<secret>
    let copies: Vec<String> = su
        .query(
            "SELECT result FROM run_command_on_placements('vibecraft.api_keys',
                 format('SELECT usage_count FROM %%s WHERE key_prefix = %L', $1::text))",
            &[&prefix],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(copies, vec!["3", "3", "3"], "three uses on each node's copy of the key");
}
