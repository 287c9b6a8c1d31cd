//! The write model through a real client, as PostgREST writes: a non-superuser login role,
//! signed in with a token, sending the statements PostgREST generates for PATCH, POST and
//! DELETE (a filter, `RETURNING *` for `Prefer: return=representation`). Each attack of the
//! outside review is refused with 42501 or touches nothing; the legitimate version works.
//! tests/pg_regress/sql/write_model.sql tries every item of the list, readable as SQL.

use serde_json::json;
use vibecraft_integration_tests::{sqlstate, token, TestDb};

const ADA: &str = "d1000000-0000-4000-8000-000000000001"; // platform admin, owns Prompt Studio
const MAX: &str = "d1000000-0000-4000-8000-000000000002"; // editor of Prompt Studio
const MIA: &str = "d1000000-0000-4000-8000-000000000003"; // owns Podcast Builder
const ENT_ORG: &str = "d0000000-0000-4000-8000-000000000002";
const STUDIO: &str = "d2000000-0000-4000-8000-000000000001";
const PODCAST: &str = "d2000000-0000-4000-8000-000000000002";

fn as_user<'a>(client: &'a mut postgres::Client, user: &str) -> postgres::Transaction<'a> {
    let mut tx = client.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(user, json!({}))]).unwrap();
    tx
}

#[test]
fn postgrest_style_writes_follow_the_write_model() {
    let db = TestDb::new("write_model");
    db.superuser().query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut app = db.login_as("app", &["vibecraft_authenticated"]);

    // PATCH /projects?id=eq.STUDIO {"user_id": MAX}: an editor cannot take a project over.
    let mut tx = as_user(&mut app, MAX);
    let takeover = tx.query("UPDATE vibecraft.projects SET user_id = $1::text::uuid WHERE id = $2::text::uuid RETURNING *", &[&MAX, &STUDIO]);
    assert_eq!(sqlstate(takeover), "42501", "an editor re-points the owner");
    drop(tx);
    let mut tx = as_user(&mut app, MAX);
    let public = tx.query("UPDATE vibecraft.projects SET is_public = true WHERE id = $1::text::uuid RETURNING id", &[&STUDIO]);
    assert_eq!(sqlstate(public), "42501", "an editor opens a private project");
    drop(tx);
    let mut tx = as_user(&mut app, MAX);
    let edited = tx
        .query("UPDATE vibecraft.projects SET description = 'edited' WHERE id = $1::text::uuid RETURNING description", &[&STUDIO])
        .unwrap();
    assert_eq!(edited.len(), 1, "an editor edits the content");
    // DELETE /project_members?user_id=eq.ADA: the owner's membership stays.
    let removed = tx.execute("DELETE FROM vibecraft.project_members WHERE user_id = $1::text::uuid", &[&ADA]).unwrap();
    assert_eq!(removed, 0, "an editor removes the owner");
    tx.commit().unwrap();

    // POST /api_keys: keys come from create_api_key only, with scopes the caller holds.
    let mut tx = as_user(&mut app, MIA);
    let forged = tx.execute(
        "INSERT INTO vibecraft.api_keys (user_id, organization_id, name, key_prefix, key_hash, scopes)
         VALUES ($1::text::uuid, $2::text::uuid, 'forged', 'vc_live_x', sha256('x'), '{*,admin}')",
        &[&MIA, &ENT_ORG],
    );
    assert_eq!(sqlstate(forged), "42501", "a hand-made key row");
    drop(tx);
    let mut tx = as_user(&mut app, MIA);
    assert_eq!(sqlstate(tx.query_one("SELECT vibecraft.create_api_key('all', ARRAY['*'])", &[])), "42501", "a '*' key");
    drop(tx);
    let mut tx = as_user(&mut app, MIA);
    let key: String = tx.query_one("SELECT vibecraft.create_api_key('ci', ARRAY['prompts:read'])", &[]).unwrap().get(0);
    assert!(key.starts_with("vc_live_"));
    let unrevoke = tx.execute("UPDATE vibecraft.api_keys SET revoked_at = NULL, expires_at = NULL", &[]);
    assert_eq!(sqlstate(unrevoke), "42501", "a key's expiry and revocation");
    drop(tx);

    // POST /project_members: nobody is added without accepting an invitation.
    let mut tx = as_user(&mut app, MIA);
    let added = tx.execute(
        "INSERT INTO vibecraft.project_members (project_id, user_id, role) VALUES ($1::text::uuid, $2::text::uuid, 'viewer')",
        &[&PODCAST, &MAX],
    );
    assert_eq!(sqlstate(added), "42501", "adding a member without consent");
    drop(tx);
    let mut tx = as_user(&mut app, MIA);
    tx.execute(
        "INSERT INTO vibecraft.project_invitations (project_id, user_id, role) VALUES ($1::text::uuid, $2::text::uuid, 'viewer')",
        &[&PODCAST, &MAX],
    )
    .unwrap();
    tx.commit().unwrap();
    let mut tx = as_user(&mut app, MAX);
    let role: String = tx.query_one("SELECT vibecraft.accept_project_invitation($1::text::uuid)", &[&PODCAST]).unwrap().get(0);
    assert_eq!(role, "viewer");
    tx.commit().unwrap();

    // PATCH /users?id=eq.MIA {"email": ...}: the address is the auth backend's.
    let mut tx = as_user(&mut app, MIA);
    let email = tx.execute("UPDATE vibecraft.users SET email = 'mia@elsewhere.example.com' WHERE id = $1::text::uuid", &[&MIA]);
    assert_eq!(sqlstate(email), "42501", "a user changes its own address");
    drop(tx);

    // PATCH /projects?id=eq.PODCAST {"deleted_at": "now"} with return=representation:
    // the owner soft-deletes its project, which is then gone from every read.
    let mut tx = as_user(&mut app, MIA);
    let rows = tx
        .query("UPDATE vibecraft.projects SET deleted_at = now() WHERE id = $1::text::uuid RETURNING id", &[&PODCAST])
        .unwrap();
    assert_eq!(rows.len(), 1, "the owner soft-deletes its project");
    tx.commit().unwrap();
    let mut tx = as_user(&mut app, MIA);
    let left: i64 = tx.query_one("SELECT count(*) FROM vibecraft.projects WHERE id = $1::text::uuid", &[&PODCAST]).unwrap().get(0);
    assert_eq!(left, 0, "a soft-deleted project is hidden");
    drop(tx);

    // And the catalog agrees: no write policy without WITH CHECK, no table-wide UPDATE.
    let mut su = db.superuser();
    let bad: i64 = su
        .query_one(
            "SELECT count(*) FROM vibecraft.validate_system_integrity()
              WHERE check_name IN ('write_policies_have_check', 'no_table_wide_update') AND status <> 'ok'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(bad, 0);
}
