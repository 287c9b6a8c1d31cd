//! A read replica: a streaming hot standby of the test cluster, made by `make test`'s
//! replica tier (scripts/cluster.sh standby), which sets VIBECRAFT_REPLICA_DSN. Data is
//! written on the primary, read on the replica once replayed, by real login roles (they
//! replicate with everything else). What a replica serves: sign-in, RLS reads, API key
//! validation, statistics and dashboards; what must write is refused with SQLSTATE 25006
//! and a message that sends the caller to the primary. docs/scale-out.md tells the story.

use serde_json::json;
use vibecraft_integration_tests::postgres::Client;
use vibecraft_integration_tests::*;

const ADMIN: &str = "d1000000-0000-4000-8000-000000000001";
const MIA: &str = "d1000000-0000-4000-8000-000000000003";
const ERIN: &str = "d1000000-0000-4000-8000-000000000004";

fn replica_dsn() -> String {
    std::env::var("VIBECRAFT_REPLICA_DSN")
        .expect("VIBECRAFT_REPLICA_DSN is not set: the replica tests run in make test's replica tier")
}

/// A connection to the replica, to the test's database, as a role made by `login_as`.
fn on_replica(db: &TestDb, role: &str) -> Client {
    let dsn = replica_dsn().replace("user=postgres", &format!("user={}_{role}", db.name));
    connect(&format!("{dsn} dbname={}", db.name))
}

/// Wait until the replica has replayed everything the primary has written so far.
fn wait_for_replay(db: &TestDb) {
    let mut primary = db.superuser();
    let lsn: String = primary.query_one("SELECT pg_catalog.pg_current_wal_lsn()::text", &[]).unwrap().get(0);
    let mut replica = connect(&format!("{} dbname=postgres", replica_dsn()));
    let in_recovery: bool = replica.query_one("SELECT pg_catalog.pg_is_in_recovery()", &[]).unwrap().get(0);
    assert!(in_recovery, "VIBECRAFT_REPLICA_DSN must name a hot standby");
    for _ in 0..300 {
        let replayed: bool = replica
            .query_one("SELECT pg_catalog.pg_last_wal_replay_lsn() >= $1::text::pg_lsn", &[&lsn])
            .unwrap()
            .get(0);
        if replayed {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Say why: a standby that never connected has no WAL receiver (its server.log says why).
    let receiver: Option<String> = replica
        .query_opt("SELECT status FROM pg_catalog.pg_stat_wal_receiver", &[])
        .unwrap()
        .map(|row| row.get(0));
    panic!("the replica did not replay {lsn} within 30 s (WAL receiver: {})", receiver.as_deref().unwrap_or("none, see the standby's server.log"));
}

fn signed_in<'a>(client: &'a mut Client, user: &str) -> postgres::Transaction<'a> {
    let mut tx = client.transaction().unwrap();
    let id: String = tx.query_one("SELECT vibecraft.authenticate($1)::text", &[&token(user, json!({}))]).unwrap().get(0);
    assert_eq!(id, user);
    tx
}

/// What a signed-in user reads, as `sql` returns it (one text value).
fn read_as(client: &mut Client, user: &str, sql: &str) -> String {
    let mut tx = signed_in(client, user);
    let value: String = tx.query_one(sql, &[]).unwrap().get(0);
    tx.rollback().unwrap();
    value
}

#[test]
fn replica_serves_sign_in_rls_reads_api_keys_statistics_and_dashboards() {
    let db = TestDb::new("replica_reads");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut mia_primary = db.login_as("mia", &["vibecraft_authenticated"]);
    let mut tx = signed_in(&mut mia_primary, MIA);
    let key: String = tx.query_one("SELECT vibecraft.create_api_key('replica', ARRAY['prompts:read'])", &[]).unwrap().get(0);
    tx.commit().unwrap();
    db.login_as("anon", &["vibecraft_anon"]);
    let mut admin_primary = db.login_as("admin", &["vibecraft_authenticated"]);
    // What the primary answers, to compare with the replica's answers.
    let reads = [
        "SELECT vibecraft.current_user_id()::text",
        "SELECT count(*)::text FROM vibecraft.prompt_history",
        "SELECT string_agg(id::text, ',' ORDER BY id) FROM vibecraft.projects",
        "SELECT count(*)::text FROM vibecraft.credit_ledger",
        "SELECT vibecraft.get_user_stats(vibecraft.current_user_id())::text",
        "SELECT vibecraft.get_user_credits(vibecraft.current_user_id())::text",
        "SELECT count(*)::text FROM vibecraft.get_user_activity_summary(vibecraft.current_user_id(), 30)",
    ];
    let expected: Vec<String> = reads.iter().map(|sql| read_as(&mut mia_primary, MIA, sql)).collect();
    let admin_stats = read_as(&mut admin_primary, ADMIN, "SELECT (vibecraft.get_system_stats() ? 'users')::text");
    wait_for_replay(&db);

    let mut mia = on_replica(&db, "mia");
    let got: Vec<String> = reads.iter().map(|sql| read_as(&mut mia, MIA, sql)).collect();
    assert_eq!(got, expected, "the replica answers Mia's reads as the primary does");
    assert_eq!(got[0], MIA);
    assert_ne!(got[1], "0", "Mia has prompts in the demo data");
    // RLS holds on the replica: another user's rows stay invisible.
    let erin_rows: String =
        read_as(&mut mia, MIA, &format!("SELECT count(*)::text FROM vibecraft.prompt_history WHERE user_id = '{ERIN}'"));
    assert_eq!(erin_rows, "0");
    // Identity ends with the transaction there too.
    let after: Option<String> = mia.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(after, None);
    // A forged or unsigned token is refused on the replica as on the primary.
    let mut tx = mia.transaction().unwrap();
    assert_eq!(sqlstate(tx.query_one("SELECT vibecraft.authenticate($1)", &[&unsigned_token(ERIN)])), "28000");
    drop(tx);

    let mut admin = on_replica(&db, "admin");
    assert_eq!(read_as(&mut admin, ADMIN, "SELECT (vibecraft.get_system_stats() ? 'users')::text"), admin_stats);
    // An admin acting for another user (the admin check runs read-only SPI on a replica).
    let for_mia = read_as(&mut admin, ADMIN, &format!("SELECT vibecraft.get_user_credits('{MIA}')::text"));
    assert_eq!(for_mia, expected[5]);
    let mut replica_su = connect(&format!("{} dbname={}", replica_dsn(), db.name));
    let health: String = replica_su.query_one("SELECT vibecraft.health_check()->>'in_recovery'", &[]).unwrap().get(0);
    assert_eq!(health, "true", "health_check says the server is a replica");

    // API keys validate on the replica; their uses there are not counted (a replica
    // cannot write, and sends nothing to the primary), and validating never fails for it.
    let mut anon = on_replica(&db, "anon");
    for _ in 0..20 {
        let row = anon.query_one("SELECT valid, user_id::text FROM vibecraft.validate_api_key($1, 'prompts:read')", &[&key]).unwrap();
        assert_eq!((row.get::<_, bool>(0), row.get::<_, Option<String>>(1).as_deref()), (true, Some(MIA)));
    }
    // An app server signs in with the key over its authenticated-role connection.
    let mut tx = mia.transaction().unwrap();
    let who: String = tx.query_one("SELECT vibecraft.authenticate_api_key($1)::text", &[&key]).unwrap().get(0);
    assert_eq!(who, MIA);
    let visible: String = tx.query_one("SELECT count(*)::text FROM vibecraft.prompt_history", &[]).unwrap().get(0);
    assert_eq!(visible, expected[1], "signed in with the key, the replica shows Mia's rows");
    drop(tx);
    drop(anon); // a disconnect flushes buffered uses on a primary; on a replica there are none
    std::thread::sleep(std::time::Duration::from_millis(500));
    let counted: i64 = su
        .query_one("SELECT usage_count FROM vibecraft.api_keys WHERE user_id = $1::text::uuid AND name = 'replica'", &[&MIA])
        .unwrap()
        .get(0);
    assert_eq!(counted, 0, "uses on a replica are not counted on the primary");
    let errors: i64 = replica_su
        .query_one("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type LIKE 'vibecraft%'", &[])
        .unwrap()
        .get(0);
    assert_eq!(errors, 0, "no vibecraft worker runs on a replica");
}

#[test]
fn replica_refuses_writes_with_25006_and_sends_them_to_the_primary() {
    let db = TestDb::new("replica_writes");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut mia_primary = db.login_as("mia", &["vibecraft_authenticated"]);
    let mut tx = signed_in(&mut mia_primary, MIA);
    tx.query_one("SELECT vibecraft.create_api_key('to revoke', ARRAY['prompts:read'])", &[]).unwrap();
    tx.commit().unwrap();
    db.login_as("backend", &["vibecraft_service"]);
    let key_id: String = su
        .query_one("SELECT id::text FROM vibecraft.api_keys WHERE user_id = $1::text::uuid", &[&MIA])
        .unwrap()
        .get(0);
    let balance: i32 = su.query_one("SELECT credits FROM vibecraft.credit_balances WHERE user_id = $1::text::uuid", &[&MIA]).unwrap().get(0);
    wait_for_replay(&db);

    let mut mia = on_replica(&db, "mia");
    let writes = [
        format!("SELECT vibecraft.deduct_credits('{MIA}', 1, 'on a replica')"),
        "SELECT vibecraft.create_api_key('on a replica', ARRAY['prompts:read'])".to_string(),
        format!("SELECT vibecraft.revoke_api_key('{key_id}')"),
        "SELECT vibecraft.save_provider_key('openai', 'sk-proj-OnAReplica0123456789abcdef')".to_string(),
        "INSERT INTO vibecraft.prompt_history (user_id, user_input) VALUES (vibecraft.current_user_id(), 'on a replica')".to_string(),
    ];
    for sql in &writes {
        let mut tx = signed_in(&mut mia, MIA);
        let err = tx.query_one(sql.as_str(), &[]).expect_err(sql);
        let code = err.code().map(|c| c.code().to_string());
        assert_eq!(code.as_deref(), Some("25006"), "{sql}: {err}");
        // The native credit functions name the primary; the SQL ones and plain writes get
        // PostgreSQL's own 25006 ("cannot execute ... in a read-only transaction").
        if sql.contains("deduct_credits") {
            let message = err.as_db_error().map(|e| e.message().to_string()).unwrap_or_default();
            assert!(message.contains("primary"), "{sql}: the message sends the caller to the primary: {message}");
        }
    }
    let mut backend = on_replica(&db, "backend");
    for sql in [
        format!("SELECT vibecraft.add_credits('{MIA}', 5, 'on a replica')"),
        "SELECT vibecraft.daily_maintenance()::text".to_string(),
    ] {
        let err = backend.query_one(sql.as_str(), &[]).expect_err(&sql);
        assert_eq!(err.code().map(|c| c.code().to_string()).as_deref(), Some("25006"), "{sql}: {err}");
        if sql.contains("add_credits") {
            let message = err.as_db_error().map(|e| e.message().to_string()).unwrap_or_default();
            assert!(message.contains("call it on the primary"), "{sql}: {message}");
        }
    }
    // Nothing changed: the primary's balance is what it was.
    let after: i32 = su.query_one("SELECT credits FROM vibecraft.credit_balances WHERE user_id = $1::text::uuid", &[&MIA]).unwrap().get(0);
    assert_eq!(after, balance);
}
