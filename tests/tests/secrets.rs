//! Provider keys and service API keys, used as an application would: signed-in users
//! through JWTs, the backend through a login role in vibecraft_service.

use postgres::Client;
use serde_json::json;
use vibecraft_integration_tests::{sqlstate, token, TestDb};

const MIA: &str = "d1000000-0000-4000-8000-000000000003";
const MAX: &str = "d1000000-0000-4000-8000-000000000002";
const OPENAI_KEY: &str = "sk-proj-MiaSecretKey0123456789abcdef";

fn sign_in<'a>(client: &'a mut Client, user: &str) -> postgres::Transaction<'a> {
    let mut tx = client.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(user, json!({}))]).unwrap();
    tx
}

#[test]
fn provider_keys_are_encrypted_bound_and_shown_only_to_the_service_role() {
    let db = TestDb::new("sec_provider");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();

    let mut mia = db.login_as("mia", &["vibecraft_authenticated"]);
    let mut tx = sign_in(&mut mia, MIA);
    // A key that does not match the provider's pattern is refused without being echoed.
    let err = tx.query_one("SELECT vibecraft.save_provider_key('openai', 'not-a-key-0000')", &[]).unwrap_err();
    let db_err = err.as_db_error().unwrap();
    assert_eq!(db_err.code().code(), "22023");
    assert!(!db_err.message().contains("not-a-key-0000"), "{}", db_err.message());
    drop(tx);
    let mut tx = sign_in(&mut mia, MIA);
    tx.query_one("SELECT vibecraft.save_provider_key('openai', $1)", &[&OPENAI_KEY]).unwrap();
    let hint: String = tx.query_one("SELECT vibecraft.provider_key('openai')", &[]).unwrap().get(0);
    assert_eq!(hint, "****cdef", "the owner sees a masked hint only");
    tx.commit().unwrap();
    let mut tx = sign_in(&mut mia, MIA);
    assert_eq!(sqlstate(tx.query_one("SELECT vibecraft.provider_key('openai', $1::text::uuid)", &[&MAX])), "42501");
    drop(tx);
    let mut tx = sign_in(&mut mia, MIA);
    assert_eq!(
        sqlstate(tx.query_one("SELECT vibecraft.decrypt_api_key(api_key_encrypted) FROM vibecraft.api_configurations", &[])),
        "42501",
        "users cannot call decrypt_api_key"
    );
    drop(tx);

    // Stored encrypted, with the key nowhere in plaintext, not even in the audit trail.
    let stored: String = su
        .query_one("SELECT api_key_encrypted FROM vibecraft.api_configurations WHERE user_id = $1::text::uuid", &[&MIA])
        .unwrap()
        .get(0);
    assert!(stored.starts_with("vc1:") && !stored.contains("MiaSecret"));
    let leaks: i64 = su
        .query_one("SELECT count(*) FROM vibecraft.audit_logs WHERE changes::text LIKE '%MiaSecret%' OR changes::text LIKE '%vc1:%'", &[])
        .unwrap()
        .get(0);
    assert_eq!(leaks, 0);

    // The backend reads the plaintext.
    let mut backend = db.login_as("backend", &["vibecraft_service"]);
    let plain: String = backend
        .query_one("SELECT vibecraft.provider_key('openai', $1::text::uuid)", &[&MIA])
        .unwrap()
        .get(0);
    assert_eq!(plain, OPENAI_KEY);

    // Moved to another user's row, the ciphertext no longer decrypts.
    su.execute(
        "INSERT INTO vibecraft.api_configurations (user_id, provider, api_key_encrypted) VALUES ($1::text::uuid, 'openai', $2)",
        &[&MAX, &stored],
    )
    .unwrap();
    let err = backend.query_one("SELECT vibecraft.provider_key('openai', $1::text::uuid)", &[&MAX]).unwrap_err();
    assert_eq!(err.code().unwrap().code(), "22023");
    assert!(!err.to_string().contains(OPENAI_KEY));
}

#[test]
fn api_keys_are_shown_once_stored_hashed_and_refused_with_a_reason() {
    let db = TestDb::new("sec_api_keys");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut mia = db.login_as("mia", &["vibecraft_authenticated"]);
    let mut tx = sign_in(&mut mia, MIA);
    let key: String = tx
        .query_one("SELECT vibecraft.create_api_key('ci', ARRAY['prompts:read'])", &[])
        .unwrap()
        .get(0);
    tx.commit().unwrap();
    assert!(key.starts_with("vc_live_") && key.len() >= 8 + 9 + 43, "{key}");
    let secret = &key["vc_live_".len() + 9..]; // after vc_live_<8 hex>_ (the secret itself may contain _)
    assert_eq!(secret.len(), 43);
    let found: i64 = su
        .query_one(
            "SELECT count(*) FROM vibecraft.api_keys k WHERE row_to_json(k)::text LIKE '%' || $1 || '%'",
            &[&secret],
        )
        .unwrap()
        .get(0);
    assert_eq!(found, 0, "the secret is stored nowhere, only its hash");

    let mut anon = db.login_as("anon", &["vibecraft_anon"]);
    let row = anon.query_one("SELECT valid, user_id::text, reason FROM vibecraft.validate_api_key($1, 'prompts:read')", &[&key]).unwrap();
    assert_eq!((row.get::<_, bool>(0), row.get::<_, Option<String>>(1).as_deref(), row.get::<_, Option<String>>(2)), (true, Some(MIA), None));
    let row = anon.query_one("SELECT valid, reason FROM vibecraft.validate_api_key($1, 'billing:admin')", &[&key]).unwrap();
    assert_eq!((row.get::<_, bool>(0), row.get::<_, Option<String>>(1).as_deref()), (false, Some("missing_scope")));

    // Signing in with the key acts as its owner.
    let mut tx = anon.transaction().unwrap();
    let who: String = tx.query_one("SELECT vibecraft.authenticate_api_key($1)::text", &[&key]).unwrap().get(0);
    assert_eq!(who, MIA);
    drop(tx);

    let mut tx = sign_in(&mut mia, MIA);
    let revoked: bool = tx
        .query_one("SELECT vibecraft.revoke_api_key(id) FROM vibecraft.api_keys WHERE key_prefix = vibecraft.api_key_prefix($1)", &[&key])
        .unwrap()
        .get(0);
    assert!(revoked);
    tx.commit().unwrap();
    let row = anon.query_one("SELECT valid, reason FROM vibecraft.validate_api_key($1)", &[&key]).unwrap();
    assert_eq!((row.get::<_, bool>(0), row.get::<_, Option<String>>(1).as_deref()), (false, Some("revoked")));
    assert_eq!(sqlstate(anon.query_one("SELECT vibecraft.authenticate_api_key($1)", &[&key])), "28000");
}

#[test]
fn ten_thousand_validations_from_eight_connections_are_counted_exactly() {
    let db = TestDb::new("sec_usage");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let hot_key = format!("vc_test_demo0001_{}", "a".repeat(43));
    // Login roles first (role creation is cluster-wide DDL), then the load.
    let clients: Vec<Client> = (0..8).map(|i| db.login_as(&format!("c{i}"), &["vibecraft_anon"])).collect();
    let threads: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let key = hot_key.clone();
            std::thread::spawn(move || {
                for _ in 0..1250 {
                    let valid: bool = client.query_one("SELECT valid FROM vibecraft.validate_api_key($1)", &[&key]).unwrap().get(0);
                    assert!(valid);
                }
                // Closing the connection flushes its buffered uses.
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Backends flush while they exit; give them the documented moment.
    let mut counted = 0i64;
    for _ in 0..50 {
        counted = su
            .query_one("SELECT usage_count FROM vibecraft.api_keys WHERE key_prefix = 'vc_test_demo0001'", &[])
            .unwrap()
            .get(0);
        if counted == 10_000 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(counted, 10_000);
}
