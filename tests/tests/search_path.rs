//! A caller's search_path cannot make vibecraft run the caller's code with the owner's
//! rights. Where vibecraft acts with a table owner's rights without being SECURITY
//! DEFINER (credits, orders, the audit trail's general path, API key validation and
//! usage, key and provider rate limits: src/owner_rights.rs),
//! its statements run under the caller's search_path, so they must name every operator
//! and type in pg_catalog. Here a login role puts a schema of its own first, with
//! operators and types that shadow pg_catalog's and write down who ran them, then
//! drives each of those paths. Nothing may have run as anyone but the callers.

use postgres::Client;
use serde_json::json;
use std::time::{Duration, Instant};
use vibecraft_integration_tests::{token, TestDb};

const MIA: &str = "d1000000-0000-4000-8000-000000000003";

/// Operators and types that shadow pg_catalog's for everything vibecraft's owner-rights
/// statements use; each records current_user, then behaves like the real one.
const HOSTILE: &str = r#"
CREATE TABLE hostile.seen (who text NOT NULL, what text NOT NULL);
GRANT INSERT, SELECT ON hostile.seen TO PUBLIC;
CREATE FUNCTION hostile.note(what text) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog
    AS $$ INSERT INTO hostile.seen VALUES (current_user, what) RETURNING true $$;
CREATE FUNCTION hostile.i4mi(a int4, b int4) RETURNS int4 LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN hostile.note('int4 -') THEN a - b END $$;
CREATE OPERATOR hostile.- (LEFTARG = int4, RIGHTARG = int4, FUNCTION = hostile.i4mi);
CREATE FUNCTION hostile.i4pl(a int4, b int4) RETURNS int4 LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN hostile.note('int4 +') THEN a + b END $$;
CREATE OPERATOR hostile.+ (LEFTARG = int4, RIGHTARG = int4, FUNCTION = hostile.i4pl);
CREATE FUNCTION hostile.i8pl(a int8, b int8) RETURNS int8 LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN hostile.note('int8 +') THEN a + b END $$;
CREATE OPERATOR hostile.+ (LEFTARG = int8, RIGHTARG = int8, FUNCTION = hostile.i8pl);
CREATE FUNCTION hostile.i4um(a int4) RETURNS int4 LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN hostile.note('- int4') THEN -a END $$;
CREATE OPERATOR hostile.- (RIGHTARG = int4, FUNCTION = hostile.i4um);
CREATE FUNCTION hostile.i8um(a int8) RETURNS int8 LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN hostile.note('- int8') THEN -a END $$;
CREATE OPERATOR hostile.- (RIGHTARG = int8, FUNCTION = hostile.i8um);
CREATE FUNCTION hostile.i4ge(a int4, b int4) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT hostile.note('int4 >=') AND a >= b $$;
CREATE OPERATOR hostile.>= (LEFTARG = int4, RIGHTARG = int4, FUNCTION = hostile.i4ge);
CREATE FUNCTION hostile.uuideq(a uuid, b uuid) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT hostile.note('uuid =') AND a = b $$;
CREATE OPERATOR hostile.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = hostile.uuideq);
CREATE FUNCTION hostile.texteq(a text, b text) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT hostile.note('text =') AND a = b $$;
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.texteq);
CREATE FUNCTION hostile.oideq(a oid, b oid) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT hostile.note('oid =') AND a = b $$;
CREATE OPERATOR hostile.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = hostile.oideq);
CREATE FUNCTION hostile.byteaeq(a bytea, b bytea) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT hostile.note('bytea =') AND a = b $$;
CREATE OPERATOR hostile.= (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = hostile.byteaeq);
CREATE FUNCTION hostile.tstzle(a timestamptz, b timestamptz) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog
    AS $$ SELECT hostile.note('timestamptz <=') AND a <= b $$;
CREATE OPERATOR hostile.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = hostile.tstzle);
CREATE DOMAIN hostile.jsonb AS text CHECK (hostile.note('jsonb'));
CREATE DOMAIN hostile.int8 AS pg_catalog.int8 CHECK (hostile.note('int8'));
CREATE DOMAIN hostile.uuid AS pg_catalog.uuid CHECK (hostile.note('uuid'));
CREATE DOMAIN hostile.int2 AS pg_catalog.int2 CHECK (hostile.note('int2'));
CREATE DOMAIN hostile.int4 AS pg_catalog.int4 CHECK (hostile.note('int4'));
"#;

/// What ran as someone other than the two callers.
fn ran_as_others(su: &mut Client, callers: &[&str]) -> Vec<(String, String)> {
    su.query("SELECT who, what FROM hostile.seen WHERE who <> ALL ($1) ORDER BY 1, 2", &[&callers])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[test]
fn a_hostile_search_path_never_runs_with_the_owners_rights() {
    let db = TestDb::new("search_path");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut mallory = db.login_as("mallory", &["vibecraft_authenticated"]);
    let mut backend = db.login_as("backend", &["vibecraft_service"]);
    let (mallory_role, backend_role) = (format!("{}_mallory", db.name), format!("{}_backend", db.name));
    // A role that may create objects somewhere (here its own schema) is all it takes.
    su.batch_execute(&format!(
        "CREATE SCHEMA hostile AUTHORIZATION {mallory_role}; GRANT USAGE ON SCHEMA hostile TO PUBLIC;"
    ))
    .unwrap();
    mallory.batch_execute(HOSTILE).unwrap();
    // The trail's general path (a column of the DBA's on the trail sends rows through SPI).
    su.batch_execute("ALTER TABLE vibecraft.audit_logs ADD COLUMN dba_note text DEFAULT 'general path'")
        .unwrap();
    for client in [&mut mallory, &mut backend] {
        client.batch_execute("SET search_path = hostile, pg_catalog, public").unwrap();
    }

    // The shadowing works: a plain statement of mallory's own uses mallory's operator.
    mallory.query_one("SELECT 1 - 1", &[]).unwrap();
    let own: i64 = su.query_one("SELECT count(*) FROM hostile.seen WHERE what = 'int4 -'", &[]).unwrap().get(0);
    assert!(own > 0, "the hostile operators must shadow pg_catalog's for the caller's own statements");

    // Credits: deduct (plain, refused, with an idempotency key twice), balance, add.
    let mut tx = mallory.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    let took: bool = tx.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 2)", &[&MIA]).unwrap().get(0);
    assert!(took);
    let refused: bool = tx.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 100000000)", &[&MIA]).unwrap().get(0);
    assert!(!refused);
    for _ in 0..2 {
        let keyed: bool = tx
            .query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 1, 'keyed', 'sp-key-1')", &[&MIA])
            .unwrap()
            .get(0);
        assert!(keyed);
    }
    // Orders: one created (its credits taken, its trail row written by the general path)
    // and looked up for a refund; then a provider's limits.
    let order: String = tx
        .query_one("SELECT vibecraft.create_order($1::text::uuid, 'ai_generation', 1)::text", &[&MIA])
        .unwrap()
        .get(0);
    let refunded: i32 = tx.query_one("SELECT vibecraft.refund_order_credits($1::text::uuid)", &[&order]).unwrap().get(0);
    assert_eq!(refunded, 0, "a pending order owes nothing");
    let admitted: bool = tx.query_one("SELECT vibecraft.check_provider_rate_limit('openai')", &[]).unwrap().get(0);
    assert!(admitted);
    let balance: i32 = tx.query_one("SELECT vibecraft.get_user_credits($1::text::uuid)", &[&MIA]).unwrap().get(0);
    // An audited change: the trail's row is written with the trail owner's rights.
    tx.execute("UPDATE vibecraft.users SET bio = 'search path test' WHERE id = $1::text::uuid", &[&MIA]).unwrap();
    // Usage of an API key, counted in this backend and written when it disconnects.
    let key: String = tx.query_one("SELECT vibecraft.create_api_key('search path test')", &[]).unwrap().get(0);
    let key_id: String =
        tx.query_one("SELECT id::text FROM vibecraft.api_keys WHERE name = 'search path test'", &[]).unwrap().get(0);
    let key_admitted: bool =
        tx.query_one("SELECT vibecraft.check_api_key_rate_limit($1::text::uuid)", &[&key_id]).unwrap().get(0);
    assert!(key_admitted);
    tx.commit().unwrap();
    for _ in 0..3 {
        let valid: bool = mallory.query_one("SELECT valid FROM vibecraft.validate_api_key($1)", &[&key]).unwrap().get(0);
        assert!(valid);
    }
    drop(mallory);
    let new_balance: i32 = backend
        .query_one("SELECT vibecraft.add_credits($1::text::uuid, 10, 'top-up', 'sp-key-2')", &[&MIA])
        .unwrap()
        .get(0);
    assert_eq!(new_balance, balance + 10);

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let used: i64 = su
            .query_one("SELECT usage_count FROM vibecraft.api_keys WHERE name = 'search path test'", &[])
            .unwrap()
            .get(0);
        if used == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "the 3 uses were not written at disconnect (usage_count {used})");
        std::thread::sleep(Duration::from_millis(100));
    }
    let audited: i64 = su
        .query_one(
            "SELECT count(*) FROM vibecraft.audit_logs
              WHERE resource_type = 'users' AND resource_id = $1 AND changes->'after'->>'bio' = 'search path test'
                AND dba_note = 'general path'",
            &[&MIA],
        )
        .unwrap()
        .get(0);
    assert_eq!(audited, 1, "the profile change is in the trail, written by the general path");

    let others = ran_as_others(&mut su, &[&mallory_role, &backend_role]);
    assert!(others.is_empty(), "ran with someone else's rights: {others:?}");
    println!("search_path: 4 deductions, an order and its refund check, provider and key limits, a balance, a top-up, an audit row and 3 key uses; the hostile schema's code never ran with the owner's rights");
}
