//! Signed URLs as real users: only someone who may read an object can sign it.

use serde_json::json;
use vibecraft_integration_tests::{sqlstate, token, TestDb};

const MIA: &str = "d1000000-0000-4000-8000-000000000003";
const ERIN: &str = "d1000000-0000-4000-8000-000000000004";
const EPISODE: &str = "d1000000-0000-4000-8000-000000000003/episode-1.webm";

#[test]
fn only_readers_sign_and_anyone_verifies() {
    let db = TestDb::new("st_sign");
    db.superuser().query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut app = db.login_as("st_app", &["vibecraft_authenticated"]);

    let mut tx = app.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    let url: String = tx.query_one("SELECT vibecraft.sign_url('audio-recordings', $1)", &[&EPISODE]).unwrap().get(0);
    tx.commit().unwrap();

    let mut tx = app.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(ERIN, json!({}))]).unwrap();
    let err = tx.query_one("SELECT vibecraft.sign_url('audio-recordings', $1)", &[&EPISODE]);
    assert_eq!(sqlstate(err), "42501", "Erin cannot read Mia's recording, so she cannot sign it");
    drop(tx);

    // Anyone, even anonymous, can check a URL; a tampered one fails.
    let mut anon = db.login_as("st_anon", &["vibecraft_anon"]);
    let ok: bool = anon.query_one("SELECT vibecraft.verify_signed_url($1)", &[&url]).unwrap().get(0);
    let tampered: bool = anon.query_one("SELECT vibecraft.verify_signed_url(replace($1, 'episode-1', 'episode-2'))", &[&url]).unwrap().get(0);
    assert!(ok && !tampered);
}
