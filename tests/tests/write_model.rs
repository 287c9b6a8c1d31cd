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

// ValueCanvas rows of the demo organization the tests below write against.
const DEMO_ORG: &str = "d0000000-0000-4000-8000-000000000001";
const RETIRED_AGENT: &str = "d5000000-0000-4000-8000-0000000000ff";
const RETIRED_MODEL: &str = "d6000000-0000-4000-8000-0000000000ff";
const MAX_CANVAS: &str = "d7000000-0000-4000-8000-000000000001";

/// A database with the demo data and a soft-deleted agent and model in the demo organization.
fn demo_with_a_retired_agent_and_model(name: &str) -> TestDb {
    let db = TestDb::new(name);
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    su.batch_execute(&format!(
        "INSERT INTO vibecraft.agents (id, organization_id, name, agent_type, deleted_at)
         VALUES ('{RETIRED_AGENT}', '{DEMO_ORG}', 'retired', 'custom', now());
         INSERT INTO vibecraft.models (id, organization_id, name, deleted_at)
         VALUES ('{RETIRED_MODEL}', '{DEMO_ORG}', 'retired', now());"
    ))
    .unwrap();
    db
}

/// The rules of the four policies that once had subqueries (which Citus cannot push down
/// to the shards) hold without them: an execution's agent and a canvas's model must be
/// live rows of the caller's organization (a soft-deleted one answers as a missing one,
/// 23503, as does one of another organization), a canvas is written by its owner only
/// while a member, and a feedback tag is read with its feedback, through the sender it
/// carries whoever wrote the tag.
#[test]
fn rules_of_the_former_policy_subqueries_still_hold() {
    const ENT_MODEL: &str = "d6000000-0000-4000-8000-000000000002";
    let db = demo_with_a_retired_agent_and_model("write_model_no_subqueries");
    let mut su = db.superuser();
    let ent_agent: String = su
        .query_one("SELECT id::text FROM vibecraft.agents WHERE organization_id = $1::text::uuid LIMIT 1", &[&ENT_ORG])
        .unwrap()
        .get(0);
    let mut app = db.login_as("app", &["vibecraft_authenticated"]);

    let run = "INSERT INTO vibecraft.executions (organization_id, agent_id, user_id)
               VALUES ($1::text::uuid, $2::text::uuid, $3::text::uuid) RETURNING status";
    let mut tx = as_user(&mut app, MIA);
    let live: String = tx
        .query_one("SELECT id::text FROM vibecraft.agents WHERE organization_id = $1::text::uuid LIMIT 1", &[&DEMO_ORG])
        .unwrap()
        .get(0);
    assert_eq!(tx.query(run, &[&DEMO_ORG, &live, &MIA]).unwrap().len(), 1, "a member runs a live agent of its organization");
    tx.commit().unwrap();
    for (agent, what) in [(RETIRED_AGENT, "a soft-deleted agent"), (ent_agent.as_str(), "another organization's agent"), ("d5000000-0000-4000-8000-0000000000fe", "no agent at all")] {
        let mut tx = as_user(&mut app, MIA);
        assert_eq!(sqlstate(tx.query(run, &[&DEMO_ORG, &agent, &MIA])), "23503", "a member runs {what}");
    }

    let draw = "INSERT INTO vibecraft.canvases (organization_id, model_id, user_id, name)
                VALUES ($1::text::uuid, $2::text::uuid, $3::text::uuid, 'mine') RETURNING name";
    for (model, what) in [(RETIRED_MODEL, "a soft-deleted model"), (ENT_MODEL, "another organization's model")] {
        let mut tx = as_user(&mut app, MIA);
        assert_eq!(sqlstate(tx.query(draw, &[&DEMO_ORG, &model, &MIA])), "23503", "a canvas on {what}");
    }
    let mut tx = as_user(&mut app, MAX);
    let repoint = "UPDATE vibecraft.canvases SET model_id = $1::text::uuid WHERE id = $2::text::uuid RETURNING id";
    assert_eq!(sqlstate(tx.query(repoint, &[&RETIRED_MODEL, &MAX_CANVAS])), "23503", "a canvas re-pointed at a soft-deleted model");
    drop(tx);
    let rename = "UPDATE vibecraft.canvases SET name = 'renamed' WHERE id = $1::text::uuid RETURNING id";
    let mut tx = as_user(&mut app, MAX);
    assert_eq!(tx.query(rename, &[&MAX_CANVAS]).unwrap().len(), 1, "the owner, a member, renames its canvas");
    drop(tx);
    su.execute("UPDATE vibecraft.users SET organization_id = NULL WHERE id = $1::text::uuid", &[&MAX]).unwrap();
    let mut tx = as_user(&mut app, MAX);
    assert_eq!(tx.query(rename, &[&MAX_CANVAS]).unwrap().len(), 0, "the owner, gone from the organization, writes its canvas");
    drop(tx);

    // Tags: Mia's feedback is tagged 'canvas', Max's 'export' (demo data); Ada is staff.
    let tags = |client: &mut postgres::Client, user: &str| -> Vec<String> {
        let mut tx = as_user(client, user);
        tx.query("SELECT tag::text FROM vibecraft.feedback_tags ORDER BY tag", &[]).unwrap().iter().map(|r| r.get(0)).collect()
    };
    assert_eq!(tags(&mut app, MIA), ["canvas"], "the sender reads its feedback's tags");
    assert_eq!(tags(&mut app, ADA), ["canvas", "export"], "staff read every tag");
    let mut tx = as_user(&mut app, ADA);
    tx.execute("INSERT INTO vibecraft.feedback_tags (feedback_id, tag) VALUES ('e4000000-0000-4000-8000-000000000001', 'triaged')", &[])
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(tags(&mut app, MIA), ["canvas", "triaged"], "a tag staff add carries the feedback's sender");
    assert_eq!(tags(&mut app, MAX), ["export"]);
    // A sender who is deleted leaves the tags with no sender: staff only.
    const GONE: &str = "d1000000-0000-4000-8000-0000000000ee";
    su.batch_execute(&format!(
        "INSERT INTO vibecraft.users (id, email) VALUES ('{GONE}', 'gone@example.com');
         INSERT INTO vibecraft.feedback (id, user_id, message) VALUES ('e4000000-0000-4000-8000-0000000000ee', '{GONE}', 'bye');
         INSERT INTO vibecraft.feedback_tags (feedback_id, tag) VALUES ('e4000000-0000-4000-8000-0000000000ee', 'farewell');"
    ))
    .unwrap();
    let sender = "SELECT user_id::text FROM vibecraft.feedback_tags WHERE tag = 'farewell'";
    assert_eq!(su.query_one(sender, &[]).unwrap().get::<_, Option<String>>(0).as_deref(), Some(GONE));
    su.execute("DELETE FROM vibecraft.users WHERE id = $1::text::uuid", &[&GONE]).unwrap();
    assert_eq!(su.query_one(sender, &[]).unwrap().get::<_, Option<String>>(0), None, "the tag lost its sender with the user");
}

/// What an attack review of the rules above found, refused: `row_security` switched off
/// inside the writer's own statement (after its policies were applied) skips no check (the
/// checks' own reads are then refused); a full-row update that keeps a canvas's model is
/// not a new choice of model; an owner who left the organization neither reads nor deletes
/// its canvases there; a soft-deleted organization grants its members nothing; an
/// invitation from a platform admin counts only while the admin is active.
#[test]
fn write_rules_hold_against_the_attack_review() {
    const ERIN: &str = "d1000000-0000-4000-8000-000000000004";
    let db = demo_with_a_retired_agent_and_model("write_model_attack_review");
    let mut su = db.superuser();
    let mut app = db.login_as("app", &["vibecraft_authenticated"]);

    // row_security off inside the statement: the guard still checks, and its own read of
    // agents or models is then refused (42501, alike for every id, so it tells nothing).
    for (what, statement) in [
        ("an execution of a soft-deleted agent", format!(
            "INSERT INTO vibecraft.executions (organization_id, agent_id, user_id)
             SELECT '{DEMO_ORG}', '{RETIRED_AGENT}', vibecraft.current_user_id() FROM (SELECT set_config('row_security', 'off', true)) s")),
        ("a canvas on a soft-deleted model", format!(
            "INSERT INTO vibecraft.canvases (organization_id, model_id, user_id, name)
             SELECT '{DEMO_ORG}', '{RETIRED_MODEL}', vibecraft.current_user_id(), 'pinned' FROM (SELECT set_config('row_security', 'off', true)) s")),
        ("a canvas re-pointed at a soft-deleted model", format!(
            "UPDATE vibecraft.canvases SET model_id = '{RETIRED_MODEL}'
              WHERE id = '{MAX_CANVAS}' AND set_config('row_security', 'off', true) IS NOT NULL")),
    ] {
        let user = if what.contains("re-pointed") { MAX } else { MIA };
        let mut tx = as_user(&mut app, user);
        assert_eq!(sqlstate(tx.batch_execute(&statement)), "42501", "{what}, with row_security switched off mid-statement");
    }
    let pinned: i64 = su
        .query_one(
            "SELECT (SELECT count(*) FROM vibecraft.executions WHERE agent_id = $1::text::uuid)
                  + (SELECT count(*) FROM vibecraft.canvases WHERE model_id = $2::text::uuid)",
            &[&RETIRED_AGENT, &RETIRED_MODEL],
        )
        .unwrap()
        .get(0);
    assert_eq!(pinned, 0, "nothing points at the soft-deleted agent or model");
    // Staff tagging feedback the same way are refused too, rather than leaving a tag its
    // sender cannot read.
    let mut tx = as_user(&mut app, ADA);
    let sneaky = tx.batch_execute(
        "INSERT INTO vibecraft.feedback_tags (feedback_id, tag)
         SELECT 'e4000000-0000-4000-8000-000000000001', 'sneaky' FROM (SELECT set_config('row_security', 'off', true)) s",
    );
    assert_eq!(sqlstate(sneaky), "42501", "a tag written with row_security switched off mid-statement");
    drop(tx);

    // A full-row update (a PostgREST upsert) that keeps a model soft-deleted since.
    let max_model: String =
        su.query_one("SELECT model_id::text FROM vibecraft.canvases WHERE id = $1::text::uuid", &[&MAX_CANVAS]).unwrap().get(0);
    su.execute("UPDATE vibecraft.models SET deleted_at = now() WHERE id = $1::text::uuid", &[&max_model]).unwrap();
    let mut tx = as_user(&mut app, MAX);
    let kept = tx
        .query(
            "UPDATE vibecraft.canvases SET name = 'kept', model_id = $1::text::uuid WHERE id = $2::text::uuid RETURNING id",
            &[&max_model, &MAX_CANVAS],
        )
        .unwrap();
    assert_eq!(kept.len(), 1, "an update that keeps the canvas's model is not refused for it");
    tx.commit().unwrap();

    // The owner, gone from the organization: its canvases there are the organization's.
    su.execute("UPDATE vibecraft.users SET organization_id = NULL WHERE id = $1::text::uuid", &[&MAX]).unwrap();
    let mut tx = as_user(&mut app, MAX);
    assert_eq!(tx.query("SELECT 1 FROM vibecraft.canvases WHERE id = $1::text::uuid", &[&MAX_CANVAS]).unwrap().len(), 0, "read after leaving");
    assert_eq!(tx.execute("DELETE FROM vibecraft.canvases WHERE id = $1::text::uuid", &[&MAX_CANVAS]).unwrap(), 0, "deleted after leaving");
    drop(tx);
    let left: i64 = su.query_one("SELECT count(*) FROM vibecraft.canvases WHERE id = $1::text::uuid", &[&MAX_CANVAS]).unwrap().get(0);
    assert_eq!(left, 1);

    // A soft-deleted organization: its members read and run nothing in it.
    let agents = |client: &mut postgres::Client| -> i64 {
        let mut tx = as_user(client, MIA);
        tx.query_one("SELECT count(*) FROM vibecraft.agents WHERE organization_id = $1::text::uuid", &[&DEMO_ORG]).unwrap().get(0)
    };
    assert!(agents(&mut app) > 0, "a member reads its organization's agents");
    su.execute("UPDATE vibecraft.organizations SET deleted_at = now() WHERE id = $1::text::uuid", &[&DEMO_ORG]).unwrap();
    assert_eq!(agents(&mut app), 0, "nor after the organization was soft-deleted");
    let mut tx = as_user(&mut app, MIA);
    let orgs: i32 = tx.query_one("SELECT cardinality(vibecraft.org_ids_with_role('MEMBER'))", &[]).unwrap().get(0);
    assert_eq!(orgs, 0, "no organization answers for a member of a soft-deleted one");
    drop(tx);

    // An invitation from a platform admin, suspended before it was accepted.
    let mut tx = as_user(&mut app, ADA);
    tx.execute(
        "INSERT INTO vibecraft.project_invitations (project_id, user_id, role) VALUES ($1::text::uuid, $2::text::uuid, 'admin')",
        &[&PODCAST, &ERIN],
    )
    .unwrap();
    tx.commit().unwrap();
    su.execute("UPDATE vibecraft.users SET status = 'SUSPENDED' WHERE id = $1::text::uuid", &[&ADA]).unwrap();
    let mut tx = as_user(&mut app, ERIN);
    assert_eq!(
        sqlstate(tx.query_one("SELECT vibecraft.accept_project_invitation($1::text::uuid)", &[&PODCAST])),
        "42501",
        "an invitation from a suspended admin"
    );
}
