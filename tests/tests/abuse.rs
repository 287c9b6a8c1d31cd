//! One tenant cannot lock out, stall or spy on the others (issue 17), tried as the
//! outside review tried it: real non-superuser login roles, real concurrency. Each
//! attack fails with a clear SQL error or has no effect; the legitimate use still works.

use fallible_iterator::FallibleIterator;
use postgres::Client;
use serde_json::json;
use siphasher::sip::SipHasher13;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};
use vibecraft_integration_tests::{sqlstate, token, TestDb};

const ADA: &str = "d1000000-0000-4000-8000-000000000001"; // platform admin
const MIA: &str = "d1000000-0000-4000-8000-000000000003";
const MAX: &str = "d1000000-0000-4000-8000-000000000002";
const DEMO_KEY_ID: &str = "e1000000-0000-4000-8000-000000000001";

fn demo_key() -> String {
    format!("vc_test_demo0001_{}", "a".repeat(43))
}

fn signed_in<'a>(client: &'a mut Client, user: &str) -> postgres::Transaction<'a> {
    let mut tx = client.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(user, json!({}))]).unwrap();
    tx
}

/// `n` calls of check_rate_limit in one DO block (a subtransaction each), counting the
/// admitted ones and the 53400 refusals; `call` is the SQL of one call, with `i`.
fn flood(client: &mut postgres::Transaction, n: i32, call: &str) -> (i64, i64, i64) {
    client
        .batch_execute(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS flood (admitted bigint, table_full bigint, refused bigint);
             TRUNCATE flood;
             DO $$
             DECLARE admitted bigint := 0; table_full bigint := 0; refused bigint := 0;
             BEGIN
                 FOR i IN 1..{n} LOOP
                     BEGIN
                         IF {call} THEN admitted := admitted + 1; END IF;
                     EXCEPTION
                         WHEN configuration_limit_exceeded THEN table_full := table_full + 1;
                         WHEN invalid_parameter_value OR insufficient_privilege THEN refused := refused + 1;
                     END;
                 END LOOP;
                 INSERT INTO flood VALUES (admitted, table_full, refused);
             END $$;"
        ))
        .unwrap();
    let row = client.query_one("SELECT admitted, table_full, refused FROM flood", &[]).unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// Every one of `subjects` others still gets exactly `limit` of `limit + 1` calls.
fn others_get_exactly(service: &mut Client, subjects: i32, limit: i32, action: &str) {
    let rows = service
        .query(
            "SELECT count(*) FILTER (WHERE ok) AS admitted
               FROM (SELECT g, vibecraft.check_rate_limit(('e0000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, $1, $2, '1 minute') AS ok
                       FROM generate_series(1, $3) g, generate_series(1, $2 + 1) r ORDER BY g, r) calls
              GROUP BY g",
            &[&action, &limit, &subjects],
        )
        .unwrap();
    assert_eq!(rows.len(), subjects as usize);
    for row in rows {
        assert_eq!(row.get::<_, i64>(0), limit as i64, "another subject's limit no longer works exactly");
    }
}

#[test]
fn one_subject_cannot_exhaust_the_rate_limit_table() {
    let db = TestDb::new("abuse_rl_flood");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    su.execute("INSERT INTO vibecraft.rate_limit_rules (action, limit_count, time_window) VALUES ('api_calls', 3, '1 hour')", &[])
        .unwrap();
    let mut user = db.login_as("flooder", &["vibecraft_authenticated"]);
    let mut service = db.login_as("service", &["vibecraft_service"]);

    // A signed-in user: 100,000 distinct actions with the longest window. It may not
    // choose a limit, and actions without a rule are refused: nothing is stored.
    let mut tx = signed_in(&mut user, MAX);
    let (admitted, full, refused) = flood(&mut tx, 100_000, &format!("vibecraft.check_rate_limit('{MAX}', 'flood:' || i, 1, '366 days')"));
    assert_eq!((admitted, full, refused), (0, 0, 100_000));
    let (admitted, full, refused) = flood(&mut tx, 100_000, &format!("vibecraft.check_rate_limit('{MAX}', 'flood:' || i)"));
    assert_eq!((admitted, full, refused), (0, 0, 100_000));
    tx.commit().unwrap();

    // The service role, passing 100,000 distinct actions for one subject (say, names taken
    // from a request): the subject gets its share of 16 slots, then 53400 for itself alone.
    let mut tx = service.transaction().unwrap();
    let attacker = "f0000000-0000-4000-8000-00000000f100";
    let (admitted, full, _) = flood(&mut tx, 100_000, &format!("vibecraft.check_rate_limit('{attacker}', 'flood:' || i, 1, '366 days')"));
    assert_eq!((admitted, full), (16, 99_984), "a subject holds at most 16 live limits");
    tx.commit().unwrap();

    // Everyone else is untouched: 2,000 other subjects get exactly their limit, and the
    // signed-in user its rule (3 per hour).
    others_get_exactly(&mut service, 2_000, 2, "after_flood");
    let mut tx = signed_in(&mut user, MIA);
    let calls: Vec<bool> = (0..4)
        .map(|_| tx.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, 'api_calls')", &[&MIA]).unwrap().get(0))
        .collect();
    assert_eq!(calls, [true, true, true, false]);
    tx.commit().unwrap();
}

/// The slot a subject's limits start at, if the table's SipHash key were the public
/// all-zero key (what someone reading the source would assume): rate_limit.rs's formula.
fn neighbourhood_with_zero_key(database: u32, subject: &[u8; 16], slots: u64) -> u64 {
    let mut h = SipHasher13::new_with_keys(0, 0);
    (database, subject).hash(&mut h);
    h.finish() % slots
}

#[test]
fn a_victims_slots_cannot_be_computed_and_filled() {
    let db = TestDb::new("abuse_rl_aim");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let database: u32 = su.query_one("SELECT oid FROM pg_database WHERE datname = current_database()", &[]).unwrap().get::<_, postgres::types::Oid>(0);
    let mut service = db.login_as("aimer", &["vibecraft_service"]);
    let slots: i64 = service.query_one("SELECT slots_total FROM vibecraft.rate_limit_state()", &[]).unwrap().get(0);
    let slots = slots as u64;

    // The victim: MIA. Find 48 subjects whose neighbourhoods would overlap hers and fill
    // each with 16 live limits: 768 slots around hers, if the key were known.
    let victim: [u8; 16] = *uuid_bytes(MIA);
    let target = neighbourhood_with_zero_key(database, &victim, slots);
    let mut aimed = Vec::new();
    let mut n: u64 = 0;
    while aimed.len() < 48 {
        n += 1;
        let mut subject = [0u8; 16];
        subject[..8].copy_from_slice(&n.to_be_bytes());
        subject[8..].copy_from_slice(&0xa1a1_a1a1_a1a1_a1a1u64.to_be_bytes());
        let start = neighbourhood_with_zero_key(database, &subject, slots);
        if (start + slots - target) % slots < 64 || (target + slots - start) % slots < 64 {
            aimed.push(subject);
        }
    }
    for subject in &aimed {
        let id = uuid_text(subject);
        let admitted: i64 = service
            .query_one(
                "SELECT count(*) FILTER (WHERE vibecraft.check_rate_limit($1::text::uuid, 'aim:' || i, 1, '366 days')) FROM generate_series(1, 16) i",
                &[&id],
            )
            .unwrap()
            .get(0);
        assert_eq!(admitted, 16);
    }
    // Her limits, of every kind, still work exactly.
    let calls: Vec<bool> = (0..4)
        .map(|_| service.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, 'login', 3, '15 minutes')", &[&MIA]).unwrap().get(0))
        .collect();
    assert_eq!(calls, [true, true, true, false], "the victim's login limit");
}

fn uuid_bytes(text: &str) -> Box<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    Box::new(out)
}

fn uuid_text(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[test]
fn signed_in_callers_are_held_to_the_rules() {
    let db = TestDb::new("abuse_rl_rules");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut service = db.login_as("rules_service", &["vibecraft_service"]);
    service
        .batch_execute(
            "INSERT INTO vibecraft.rate_limit_rules (action, plan, limit_count, time_window) VALUES
                 ('api_calls', NULL, 2, '1 hour'), ('api_calls', 'enterprise', 4, '1 hour')",
        )
        .unwrap();
    let plan_of_max: String = su.query_one("SELECT subscription_plan FROM vibecraft.users WHERE id = $1::text::uuid", &[&MAX]).unwrap().get(0);
    su.execute("UPDATE vibecraft.users SET subscription_plan = 'enterprise' WHERE id = $1::text::uuid", &[&ADA]).unwrap();
    assert_ne!(plan_of_max, "enterprise");
    let mut app = db.login_as("rules_app", &["vibecraft_authenticated"]);

    // A limit of its own choosing: refused, whatever the numbers.
    let mut tx = signed_in(&mut app, MAX);
    let own = tx.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, 'api_calls', 1000000, '1 second')", &[&MAX]);
    assert_eq!(sqlstate(own), "42501");
    drop(tx);
    // The rule, by the two-argument call or by the seed's call with the rule's numbers.
    let mut tx = signed_in(&mut app, MAX);
    let a: bool = tx.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, 'api_calls')", &[&MAX]).unwrap().get(0);
    let b: bool = tx.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, 'api_calls', 2, '1 hour')", &[&MAX]).unwrap().get(0);
    let c: bool = tx.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, 'api_calls')", &[&MAX]).unwrap().get(0);
    assert_eq!((a, b, c), (true, true, false), "2 per hour for every plan");
    let unknown = tx.query_one("SELECT vibecraft.check_rate_limit($1::text::uuid, 'no such action')", &[&MAX]);
    assert_eq!(sqlstate(unknown), "22023");
    drop(tx);
    // A plan's own rule comes first.
    let mut tx = signed_in(&mut app, ADA);
    let admitted: i64 = tx
        .query_one("SELECT count(*) FILTER (WHERE vibecraft.check_rate_limit($1::text::uuid, 'api_calls')) FROM generate_series(1, 6)", &[&ADA])
        .unwrap()
        .get(0);
    assert_eq!(admitted, 4, "4 per hour for enterprise");
    drop(tx);
    // The service role keeps the seed's call with limits of its own.
    let calls: i64 = service
        .query_one("SELECT count(*) FILTER (WHERE vibecraft.check_rate_limit($1::text::uuid, 'export', 5, '1 minute')) FROM generate_series(1, 7)", &[&MIA])
        .unwrap()
        .get(0);
    assert_eq!(calls, 5);
    // Rules are the service role's: a user reads them and changes nothing.
    let mut tx = signed_in(&mut app, MAX);
    let n: i64 = tx.query_one("SELECT count(*) FROM vibecraft.rate_limit_rules WHERE action = 'api_calls'", &[]).unwrap().get(0);
    assert_eq!(n, 2);
    let raise = tx.execute("UPDATE vibecraft.rate_limit_rules SET limit_count = 1000000", &[]);
    assert_eq!(sqlstate(raise), "42501");
}

#[test]
fn no_signed_in_role_takes_a_table_lock_that_stalls_others() {
    let db = TestDb::new("abuse_locks");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let relations: Vec<String> = su
        .query(
            "SELECT c.oid::regclass::text FROM pg_class c
              WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v', 'm') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(relations.len() > 50);
    for (role, group) in [("locker", "vibecraft_authenticated"), ("anon_locker", "vibecraft_anon")] {
        let mut client = db.login_as(role, &[group]);
        for relation in &relations {
            for mode in ["ACCESS EXCLUSIVE", "EXCLUSIVE", "SHARE ROW EXCLUSIVE", "SHARE", "SHARE UPDATE EXCLUSIVE"] {
                let started = Instant::now();
                let mut tx = client.transaction().unwrap();
                let locked = tx.batch_execute(&format!("LOCK TABLE {relation} IN {mode} MODE"));
                assert_eq!(sqlstate(locked), "42501", "{role}: LOCK TABLE {relation} IN {mode} MODE");
                assert!(started.elapsed() < Duration::from_secs(5), "the refusal came at once");
            }
        }
    }
    // Nor through a view of one's own, a temporary one included: LOCK of a view locks the
    // relations under it.
    let mut client = db.login_as("view_locker", &["vibecraft_authenticated"]);
    client
        .batch_execute(
            "CREATE TEMP VIEW mine AS SELECT * FROM vibecraft.users;
             CREATE TEMP VIEW nested AS SELECT * FROM vibecraft.user_profiles;
             CREATE TEMP VIEW deeper AS SELECT * FROM nested;",
        )
        .unwrap();
    for view in ["mine", "nested", "deeper"] {
        let mut tx = client.transaction().unwrap();
        assert_eq!(sqlstate(tx.batch_execute(&format!("LOCK TABLE {view} IN ACCESS EXCLUSIVE MODE"))), "42501", "LOCK TABLE {view}");
    }
    // The service role may not either (its writes need no such lock); the owner may.
    let mut service = db.login_as("lock_service", &["vibecraft_service"]);
    let mut tx = service.transaction().unwrap();
    assert_eq!(sqlstate(tx.batch_execute("LOCK TABLE vibecraft.users IN ACCESS EXCLUSIVE MODE")), "42501");
    drop(tx);
    let mut tx = su.transaction().unwrap();
    tx.batch_execute("LOCK TABLE vibecraft.users IN ACCESS EXCLUSIVE MODE").unwrap();
}

#[test]
fn a_held_transaction_after_two_validations_pins_no_key() {
    let db = TestDb::new("abuse_pin");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let owner: String = su.query_one("SELECT user_id::text FROM vibecraft.api_keys WHERE id = $1::text::uuid", &[&DEMO_KEY_ID]).unwrap().get(0);
    let before: i64 = su.query_one("SELECT usage_count FROM vibecraft.api_keys WHERE id = $1::text::uuid", &[&DEMO_KEY_ID]).unwrap().get(0);
    let mut attacker = db.login_as("pinner", &["vibecraft_anon"]);
    let mut service = db.login_as("pin_service", &["vibecraft_service"]);
    let mut app = db.login_as("pin_owner", &["vibecraft_authenticated"]);

    // Validate once, again 5 s later (the usage of the first is then due), and hold on.
    let mut held = attacker.transaction().unwrap();
    let valid: bool = held.query_one("SELECT valid FROM vibecraft.validate_api_key($1)", &[&demo_key()]).unwrap().get(0);
    assert!(valid);
    std::thread::sleep(Duration::from_millis(5_300));
    held.query_one("SELECT valid FROM vibecraft.validate_api_key($1)", &[&demo_key()]).unwrap();

    // Meanwhile the service validates the key and the owner revokes it, neither waiting.
    service.batch_execute("SET lock_timeout = '3s'; SET statement_timeout = '5s'").unwrap();
    let started = Instant::now();
    let valid: bool = service.query_one("SELECT valid FROM vibecraft.validate_api_key($1)", &[&demo_key()]).unwrap().get(0);
    assert!(valid);
    let mut tx = signed_in(&mut app, &owner);
    tx.batch_execute("SET LOCAL lock_timeout = '3s'").unwrap();
    let revoked: bool = tx.query_one("SELECT vibecraft.revoke_api_key($1::text::uuid)", &[&DEMO_KEY_ID]).unwrap().get(0);
    assert!(revoked, "the owner revokes the key while the attacker holds its transaction");
    tx.commit().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "nobody waited: {:?}", started.elapsed());
    held.commit().unwrap();

    // The uses are still counted, by the flush worker, in a transaction of its own.
    wait_for_demo_key_uses(&mut su, before + 2, "the attacker's 2 uses were not counted");

    // A user who holds its own keys' rows locked delays only its own keys' counts: another
    // connection's uses of the demo key are counted meanwhile (when it disconnects).
    su.execute("UPDATE vibecraft.api_keys SET revoked_at = NULL, is_active = true WHERE id = $1::text::uuid", &[&DEMO_KEY_ID]).unwrap();
    let mut locker = db.login_as("key_locker", &["vibecraft_authenticated"]);
    let mut own_keys = locker.transaction().unwrap();
    own_keys.query_one("SELECT vibecraft.authenticate($1)", &[&token(MAX, json!({}))]).unwrap();
    let mine: String = own_keys.query_one("SELECT vibecraft.create_api_key('locked')", &[]).unwrap().get(0);
    own_keys.commit().unwrap();
    let mut own_keys = signed_in(&mut locker, MAX);
    own_keys.query("SELECT id FROM vibecraft.api_keys FOR UPDATE", &[]).unwrap();
    {
        let mut other = db.login_as("pin_other", &["vibecraft_anon"]);
        for key in [mine.as_str(), demo_key().as_str()] {
            other.query_one("SELECT valid FROM vibecraft.validate_api_key($1)", &[&key]).unwrap();
        }
    }
    wait_for_demo_key_uses(&mut su, before + 3, "a user's locked keys held up the counting of others");
    // Once the lock ends, the locked key's use is counted too, though nobody validates
    // any key again (the flush worker tries locked keys again, it does not drop them).
    let mine_id: String = su
        .query_one("SELECT id::text FROM vibecraft.api_keys WHERE name = 'locked' AND user_id = $1::text::uuid", &[&MAX])
        .unwrap()
        .get(0);
    assert_eq!(key_uses(&mut su, &mine_id), 0, "a locked key's use was counted through the lock");
    own_keys.commit().unwrap();
    wait_for_key_uses(&mut su, &mine_id, 1, "a use of a key that was locked during the flush was never counted");
}

/// Wait up to 20 s for the demo key's usage_count to reach `at_least`.
fn wait_for_demo_key_uses(su: &mut Client, at_least: i64, failure: &str) {
    wait_for_key_uses(su, DEMO_KEY_ID, at_least, failure)
}

fn key_uses(su: &mut Client, key_id: &str) -> i64 {
    su.query_one("SELECT usage_count FROM vibecraft.api_keys WHERE id = $1::text::uuid", &[&key_id]).unwrap().get(0)
}

/// Wait up to 20 s for a key's usage_count to reach `at_least`.
fn wait_for_key_uses(su: &mut Client, key_id: &str, at_least: i64, failure: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = key_uses(su, key_id);
        if now >= at_least {
            return;
        }
        assert!(Instant::now() < deadline, "{failure} (usage_count {now}, expected {at_least})");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn statement_texts_go_to_superusers_only_and_never_utility_texts() {
    let db = TestDb::new("abuse_stats");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    su.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset();").unwrap();
    su.batch_execute(&format!(
        "DROP ROLE IF EXISTS {0}_victim; CREATE ROLE {0}_victim LOGIN PASSWORD 'hunter2-do-not-leak'; SELECT pg_sleep(0.05)",
        db.name
    ))
    .unwrap();
    let mut app = db.login_as("stats_admin", &["vibecraft_authenticated"]);
    let mut tx = signed_in(&mut app, ADA);
    let stats: serde_json::Value = tx.query_one("SELECT vibecraft.get_database_stats()", &[]).unwrap().get(0);
    let slowest = stats["slowest_statements"].as_array().expect("pg_stat_statements is installed").clone();
    assert!(!slowest.is_empty());
    assert!(slowest.iter().all(|s| s["query"].is_null() && s["queryid"].is_number()), "an app admin sees ids and figures only");
    drop(tx);
    let as_superuser: serde_json::Value = su.query_one("SELECT vibecraft.get_database_stats()", &[]).unwrap().get(0);
    let text = as_superuser["slowest_statements"].to_string();
    assert!(text.contains("pg_sleep"), "a superuser sees the texts of plain statements: {text}");
    assert!(!text.contains("hunter2"), "no utility statement's text: {text}");
}

#[test]
fn an_idempotency_key_names_one_request() {
    let db = TestDb::new("abuse_idem");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut app = db.login_as("idem_app", &["vibecraft_authenticated"]);
    let balance = |su: &mut Client| -> i32 {
        su.query_one("SELECT credits FROM vibecraft.credit_balances WHERE user_id = $1::text::uuid", &[&MIA]).unwrap().get(0)
    };
    let start = balance(&mut su);
    let mut tx = signed_in(&mut app, MIA);
    let first: bool = tx.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 1, 'image', 'req-1')", &[&MIA]).unwrap().get(0);
    let again: bool = tx.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 1, 'image', 'req-1')", &[&MIA]).unwrap().get(0);
    assert!(first && again, "a repeated request gets the first answer");
    tx.commit().unwrap();
    let mut tx = signed_in(&mut app, MIA);
    let other_amount = tx.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 90, 'image', 'req-1')", &[&MIA]);
    assert_eq!(sqlstate(other_amount), "23505", "the same key for 90 credits");
    drop(tx);
    let mut tx = signed_in(&mut app, MIA);
    let other_reason = tx.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 1, 'video', 'req-1')", &[&MIA]);
    assert_eq!(sqlstate(other_reason), "23505", "the same key for another reason");
    drop(tx);
    assert_eq!(balance(&mut su), start - 1, "one credit taken, once");
}

#[test]
fn public_writes_have_a_size_and_anonymous_ones_a_rate() {
    let db = TestDb::new("abuse_sizes");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut anon = db.login_as("sizes_anon", &["vibecraft_anon"]);
    let big = "x".repeat(10 * 1024 * 1024);
    let huge = anon.execute("INSERT INTO vibecraft.feedback (message) VALUES ($1)", &[&big]);
    assert_eq!(sqlstate(huge), "54000", "10 MB of anonymous feedback");
    let huge = anon.execute("INSERT INTO vibecraft.error_logs (error_type, message) VALUES ('js', $1)", &[&big]);
    assert_eq!(sqlstate(huge), "54000", "10 MB of anonymous error report");
    let mut app = db.login_as("sizes_app", &["vibecraft_authenticated"]);
    let mut tx = signed_in(&mut app, MIA);
    let two_mb = "y".repeat(2 * 1024 * 1024);
    let big_prompt = tx.execute("INSERT INTO vibecraft.prompt_history (user_id, user_input) VALUES ($1::text::uuid, $2)", &[&MIA, &two_mb]);
    assert_eq!(sqlstate(big_prompt), "54000", "2 MB prompt from a user");
    drop(tx);
    let mut tx = signed_in(&mut app, MIA);
    tx.execute("INSERT INTO vibecraft.prompt_history (user_id, user_input) VALUES ($1::text::uuid, 'a normal prompt')", &[&MIA]).unwrap();
    tx.commit().unwrap();
    // A value copied from a stored row counts at its full size, however it is stored.
    anon.batch_execute("CREATE TEMP TABLE big AS SELECT repeat('x', 10000000) AS m").unwrap();
    let copied = anon.execute("INSERT INTO vibecraft.feedback (message) SELECT m FROM big", &[]);
    assert_eq!(sqlstate(copied), "54000", "10 MB copied from a temporary table");
    // A row grown one column at a time.
    let mut tx = signed_in(&mut app, MIA);
    let half = "z".repeat(600 * 1024);
    tx.execute("INSERT INTO vibecraft.prompt_history (user_id, user_input) VALUES ($1::text::uuid, 'grows')", &[&MIA]).unwrap();
    tx.execute("UPDATE vibecraft.prompt_history SET ai_response = $1 WHERE user_input = 'grows'", &[&half]).unwrap();
    let grown = tx.execute("UPDATE vibecraft.prompt_history SET error_message = $1 WHERE user_input = 'grows'", &[&half]);
    assert_eq!(sqlstate(grown), "54000", "a row grown past 1 MB in steps");
    drop(tx);
    // Through vibecraft's own functions, which write with the owner's rights.
    let mut tx = signed_in(&mut app, MIA);
    let logged = tx.query_one("SELECT vibecraft.log_api_usage('openai', error_message => $1)", &[&two_mb]);
    assert_eq!(sqlstate(logged), "22001", "2 MB of error message in a usage row");
    drop(tx);
    let mut service = db.login_as("sizes_service", &["vibecraft_service"]);
    service.execute("INSERT INTO vibecraft.prompt_history (user_id, user_input) VALUES ($1::text::uuid, $2)", &[&MIA, &two_mb]).unwrap();

    // Anonymous feedback: 60 a minute from all anonymous callers together, then 53400.
    let limit: i32 = su.query_one("SELECT limit_count FROM vibecraft.rate_limit_rules WHERE action = 'anon_insert:feedback'", &[]).unwrap().get(0);
    for i in 0..limit {
        anon.execute("INSERT INTO vibecraft.feedback (message) VALUES ($1)", &[&format!("thanks #{i}")]).unwrap();
    }
    let flood = anon.execute("INSERT INTO vibecraft.feedback (message) VALUES ('one too many')", &[]);
    assert_eq!(sqlstate(flood), "53400");
    // A signed-in user's feedback is not held to the anonymous budget.
    let mut tx = signed_in(&mut app, MIA);
    tx.execute("INSERT INTO vibecraft.feedback (user_id, message) VALUES ($1::text::uuid, 'signed in')", &[&MIA]).unwrap();
    tx.commit().unwrap();
}

#[test]
fn listeners_can_tell_forged_realtime_events() {
    let db = TestDb::new("abuse_realtime");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let channel: String = su.query_one("SELECT vibecraft.enable_realtime('vibecraft.projects')", &[]).unwrap().get(0);
    let mut listener = db.login_as("rt_listener", &["vibecraft_authenticated"]);
    listener.batch_execute(&format!("LISTEN \"{channel}\"")).unwrap();
    let mut writer = db.login_as("rt_writer", &["vibecraft_service"]);
    writer.execute("INSERT INTO vibecraft.projects (user_id, name) VALUES ($1::text::uuid, 'signed events')", &[&MIA]).unwrap();
    let mut anon = db.login_as("rt_forger", &["vibecraft_anon"]);
    let forged = r#"{"table": "vibecraft.projects", "op": "delete", "id": "d2000000-0000-4000-8000-000000000001", "owner": null, "changed": [], "at": 1, "sig": "AAAA"}"#;
    anon.query_one("SELECT pg_notify($1, $2)", &[&channel, &forged]).unwrap();

    let mut payloads = Vec::new();
    {
        let mut notes = listener.notifications();
        let mut it = notes.timeout_iter(Duration::from_secs(2));
        while let Some(n) = it.next().unwrap() {
            payloads.push(n.payload().to_string());
        }
    }
    assert_eq!(payloads.len(), 2);
    let verify = |c: &mut Client, channel: &str, payload: &str| -> bool {
        c.query_one("SELECT vibecraft.verify_realtime_event($1, $2)", &[&channel, &payload]).unwrap().get(0)
    };
    assert!(verify(&mut listener, &channel, &payloads[0]), "the database's own event");
    assert!(!verify(&mut listener, &channel, &payloads[1]), "the forged one");
    let mut real: serde_json::Value = serde_json::from_str(&payloads[0]).unwrap();
    assert!(real["at"].as_i64().unwrap() > 1_700_000_000_000, "the event says when it was written");
    real["op"] = json!("delete");
    assert!(!verify(&mut anon, &channel, &real.to_string()), "a real event with its op changed");
    assert!(!verify(&mut anon, "realtime:vibecraft.users", &payloads[0]), "a real event replayed on another channel");
    // The same event with a second "id" first: jsonb keeps the last, a listener may keep the first.
    let doubled = payloads[0].replacen('{', r#"{"id": "d2000000-0000-4000-8000-000000000001", "#, 1);
    assert!(!verify(&mut anon, &channel, &doubled), "an event with a duplicate key");
    assert!(!verify(&mut anon, &channel, "not json at all"), "not JSON");
}

/// Run `sql` as a fresh signed-in (or anonymous, `user` None) transaction and give its
/// SQLSTATE and message, or "ok".
fn outcome(client: &mut Client, user: Option<&str>, sql: &str, id: &str) -> String {
    let mut tx = client.transaction().unwrap();
    if let Some(user) = user {
        tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(user, json!({}))]).unwrap();
    }
    match tx.batch_execute(&sql.replace("$ID", id)) {
        Ok(()) => "ok".into(),
        Err(e) => {
            let db = e.as_db_error().expect("an SQL error");
            assert!(db.detail().is_none_or(|d| !d.contains(id)), "the error's detail names the id: {d:?}", d = db.detail());
            format!("{} {}", db.code().code(), db.message())
        }
    }
}

#[test]
fn errors_do_not_confirm_what_the_caller_cannot_see() {
    let db = TestDb::new("abuse_oracles");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let missing = "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b";
    let private_project = "d2000000-0000-4000-8000-000000000001"; // Prompt Studio: its members only
    let other_users_order: String = su
        .query_one("SELECT id::text FROM vibecraft.orders WHERE user_id <> $1::text::uuid LIMIT 1", &[&OUTSIDER])
        .unwrap()
        .get(0);
    let mut anon = db.login_as("oracle_anon", &["vibecraft_anon"]);
    let mut app = db.login_as("oracle_app", &["vibecraft_authenticated"]);
    // The outsider belongs to the other organization and to no project of the victims'.
    let cases: [(&str, Option<&str>, &str, &str); 6] = [
        ("an anonymous error report about a project", None,
         "INSERT INTO vibecraft.error_logs (project_id, error_type, message) VALUES ('$ID', 'js', 'boom')", private_project),
        ("a signed-in error report about a project", Some(OUTSIDER),
         "INSERT INTO vibecraft.error_logs (user_id, project_id, error_type, message) VALUES ('d1000000-0000-4000-8000-000000000004', '$ID', 'js', 'boom')", private_project),
        ("activity in a project", Some(OUTSIDER),
         "INSERT INTO vibecraft.user_activity (user_id, project_id, activity_type) VALUES ('d1000000-0000-4000-8000-000000000004', '$ID', 'view')", private_project),
        ("cancelling an order", Some(OUTSIDER), "SELECT vibecraft.cancel_order('$ID')", &other_users_order),
        ("refunding an order", Some(OUTSIDER), "SELECT vibecraft.refund_order_credits('$ID')", &other_users_order),
        ("an API key's rate limit", Some(OUTSIDER), "SELECT vibecraft.check_api_key_rate_limit('$ID')", DEMO_KEY_ID),
    ];
    for (what, user, sql, hidden) in cases {
        let client = if user.is_some() { &mut app } else { &mut anon };
        let seen = outcome(client, user, sql, hidden);
        let unseen = outcome(client, user, sql, missing);
        assert!(seen.starts_with("42501"), "{what}: {seen}");
        assert_eq!(seen, unseen, "{what}: a hidden row and a missing one answer alike");
    }
    // A unique violation does not name the value it collided with.
    let mut tx = signed_in(&mut app, OUTSIDER);
    let collided = tx
        .execute("UPDATE vibecraft.organizations SET slug = 'demo-org' WHERE id = 'd0000000-0000-4000-8000-000000000002'", &[])
        .unwrap_err();
    let error = collided.as_db_error().unwrap();
    assert_eq!(error.code().code(), "23505");
    assert!(error.detail().is_none(), "the collision's detail: {:?}", error.detail());
}

const OUTSIDER: &str = "d1000000-0000-4000-8000-000000000004"; // ADMIN of Enterprise Corp only
