//! Realtime: a LISTEN connection sees a change only once it commits, as a small payload
//! without row contents or secret column names.

use fallible_iterator::FallibleIterator;
use postgres::Client;
use std::time::Duration;
use vibecraft_integration_tests::TestDb;

const MIA: &str = "d1000000-0000-4000-8000-000000000003";

fn pending(listener: &mut Client, wait: Duration) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut notes = listener.notifications();
    let mut it = notes.timeout_iter(wait);
    while let Some(n) = it.next().unwrap() {
        out.push(serde_json::from_str(n.payload()).unwrap());
    }
    out
}

#[test]
fn listeners_see_committed_changes_without_secrets() {
    let db = TestDb::new("rt_notify");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let projects: String = su.query_one("SELECT vibecraft.enable_realtime('vibecraft.projects')", &[]).unwrap().get(0);
    let keys: String = su.query_one("SELECT vibecraft.enable_realtime('vibecraft.api_configurations')", &[]).unwrap().get(0);
    assert_eq!(projects, "realtime:vibecraft.projects");

    let mut listener = db.login_as("rt_listener", &["vibecraft_service"]);
    listener.batch_execute(&format!("LISTEN \"{projects}\"; LISTEN \"{keys}\";")).unwrap();

    // A change in an open transaction is not published...
    let mut writer = db.login_as("rt_writer", &["vibecraft_service"]);
    let mut tx = writer.transaction().unwrap();
    let id: String = tx
        .query_one("INSERT INTO vibecraft.projects (user_id, name) VALUES ($1::text::uuid, 'Realtime demo') RETURNING id::text", &[&MIA])
        .unwrap()
        .get(0);
    assert!(pending(&mut listener, Duration::from_millis(300)).is_empty(), "nothing before the commit");
    tx.commit().unwrap();
    // ...and is, once committed.
    let seen = pending(&mut listener, Duration::from_millis(1000));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["table"], "vibecraft.projects");
    assert_eq!(seen[0]["op"], "insert");
    assert_eq!(seen[0]["id"], id.as_str());
    assert_eq!(seen[0]["owner"], MIA);
    assert!(seen[0].get("name").is_none(), "no row contents in the payload");

    // A rolled-back change is never published.
    let mut tx = writer.transaction().unwrap();
    tx.execute("UPDATE vibecraft.projects SET name = 'never' WHERE id = $1::text::uuid", &[&id]).unwrap();
    tx.rollback().unwrap();
    assert!(pending(&mut listener, Duration::from_millis(300)).is_empty(), "nothing for a rollback");

    // An update names its changed columns; a secret column is never named, nor its value.
    writer
        .execute("UPDATE vibecraft.projects SET name = 'Renamed', description = 'x' WHERE id = $1::text::uuid", &[&id])
        .unwrap();
    writer
        .execute(
            "UPDATE vibecraft.api_configurations SET api_key_encrypted = api_key_encrypted || '', is_validated = NOT is_validated
              WHERE user_id = $1::text::uuid",
            &[&MIA],
        )
        .unwrap();
    let seen = pending(&mut listener, Duration::from_millis(1000));
    assert_eq!(seen.len(), 2, "{seen:?}");
    let changed = |i: usize| seen[i]["changed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(changed(0).contains(&"name".to_string()) && changed(0).contains(&"description".to_string()), "{seen:?}");
    assert_eq!(seen[1]["table"], "vibecraft.api_configurations");
    assert!(changed(1).contains(&"is_validated".to_string()));
    let text = serde_json::to_string(&seen).unwrap();
    assert!(!text.contains("api_key_encrypted") && !text.contains("vc1:"), "no secret in the payload: {text}");

    // Turned off, it publishes nothing.
    su.execute("SELECT vibecraft.disable_realtime('vibecraft.projects')", &[]).unwrap();
    writer.execute("DELETE FROM vibecraft.projects WHERE id = $1::text::uuid", &[&id]).unwrap();
    assert!(pending(&mut listener, Duration::from_millis(300)).is_empty());
}
