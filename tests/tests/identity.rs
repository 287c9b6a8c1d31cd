//! Who is calling, and what each caller may see and do: real non-superuser login roles,
//! signing in with tokens as an application would.

use postgres::Client;
use serde_json::json;
use vibecraft_integration_tests::{
    in_seconds, jwt_secret, node_identity_signed_with, sqlstate, token, token_signed_with, unsigned_token, TestDb,
};

// Demo users (vibecraft.seed_demo_data): Mia, MEMBER of the demo organization, and Erin,
// ADMIN of Enterprise Corp. Neither is a platform admin.
const MIA: &str = "d1000000-0000-4000-8000-000000000003";
const MIA_ORG: &str = "d0000000-0000-4000-8000-000000000001";
const ERIN: &str = "d1000000-0000-4000-8000-000000000004";
const ERIN_ORG: &str = "d0000000-0000-4000-8000-000000000002";

fn signed_in<'a>(client: &'a mut Client, user: &str) -> postgres::Transaction<'a> {
    let mut tx = client.transaction().unwrap();
    let id: String = tx
        .query_one("SELECT vibecraft.authenticate($1)::text", &[&token(user, json!({}))])
        .unwrap()
        .get(0);
    assert_eq!(id, user);
    tx
}

fn count(tx: &mut postgres::Transaction<'_>, sql: &str) -> i64 {
    tx.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// The demo data and one project of Erin's alone; the superuser connection and the project id.
fn demo_with_erins_project(db: &TestDb) -> (Client, String) {
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let project: String = su
        .query_one("INSERT INTO vibecraft.projects (user_id, name) VALUES ($1::text::uuid, 'Erin only') RETURNING id::text", &[&ERIN])
        .unwrap()
        .get(0);
    (su, project)
}

/// Every table and seed-name view with a user_id column.
fn user_relations(su: &mut Client) -> Vec<(String, bool)> {
    su.query(
        "SELECT c.relname::text,
                EXISTS (SELECT 1 FROM pg_attribute p WHERE p.attrelid = c.oid AND p.attname = 'is_public')
           FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id'
          WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v')
          ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[test]
fn users_of_two_organizations_see_only_their_own_rows() {
    let db = TestDb::new("id_isolation");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let relations = user_relations(&mut su);
    assert!(relations.len() >= 25, "tables and views with user data: {relations:?}");

    for (me, my_org, other, other_org) in [(MIA, MIA_ORG, ERIN, ERIN_ORG), (ERIN, ERIN_ORG, MIA, MIA_ORG)] {
        let mut client = db.login_as(&format!("u{}", &me[me.len() - 1..]), &["vibecraft_authenticated"]);
        let mut tx = signed_in(&mut client, me);
        let mut seen_own = 0;
        for (rel, has_public) in &relations {
            let public = if *has_public { " AND NOT is_public" } else { "" };
            let others = count(
                &mut tx,
                &format!("SELECT count(*) FROM vibecraft.{rel} WHERE user_id = '{other}'{public}"),
            );
            assert_eq!(others, 0, "{me} sees {others} private rows of {other} in {rel}");
            let mine = count(&mut tx, &format!("SELECT count(*) FROM vibecraft.{rel} WHERE user_id = '{me}'"));
            let all_mine: i64 = su
                .query_one(&format!("SELECT count(*) FROM vibecraft.{rel} WHERE user_id = '{me}'"), &[])
                .unwrap()
                .get(0);
            // Metrics are write-only for users; everything else of one's own is visible.
            if rel != "performance_metrics" {
                assert_eq!(mine, all_mine, "{me} sees {mine} of its {all_mine} rows in {rel}");
            }
            seen_own += mine;
        }
        assert!(seen_own >= 5, "{me} should see its demo rows, saw {seen_own}");
        for org_table in ["organizations", "agents", "models", "canvases", "executions"] {
            let column = if org_table == "organizations" { "id" } else { "organization_id" };
            let foreign = count(
                &mut tx,
                &format!("SELECT count(*) FROM vibecraft.{org_table} WHERE {column} = '{other_org}'"),
            );
            assert_eq!(foreign, 0, "{me} sees another organization's {org_table}");
        }
        let own_org = count(&mut tx, &format!("SELECT count(*) FROM vibecraft.organizations WHERE id = '{my_org}'"));
        assert_eq!(own_org, 1);
        let roster = count(&mut tx, "SELECT count(*) FROM vibecraft.users");
        let expected_roster: i64 = su
            .query_one(&format!("SELECT count(*) FROM vibecraft.users WHERE organization_id = '{my_org}'"), &[])
            .unwrap()
            .get(0);
        assert_eq!(roster, expected_roster, "{me} sees its organization's roster only");
        tx.commit().unwrap();
    }
}

#[test]
fn project_roles_decide_who_reads_and_writes() {
    let db = TestDb::new("id_projects");
    let mut su = db.superuser();
    let ids = ["a1", "a2", "a3", "a4"].map(|s| format!("a0000000-0000-4000-8000-0000000000{s}"));
    let [owner, editor, viewer, stranger] = ids.clone();
    for (i, id) in ids.iter().enumerate() {
        su.execute("INSERT INTO vibecraft.users (id, email) VALUES ($1::text::uuid, $2)", &[id, &format!("p{i}@example.com")])
            .unwrap();
    }
    let mut o = db.login_as("owner", &["vibecraft_authenticated"]);
    let mut tx = signed_in(&mut o, &owner);
    let project: String = tx
        .query_one(
            "INSERT INTO vibecraft.projects (user_id, name) VALUES (vibecraft.current_user_id(), 'Shared') RETURNING id::text",
            &[],
        )
        .unwrap()
        .get(0);
    // Members are invited, and join when they accept (no one is added without saying yes).
    tx.execute(
        "INSERT INTO vibecraft.project_invitations (project_id, user_id, role) VALUES ($1::text::uuid, $2::text::uuid, 'editor'), ($1::text::uuid, $3::text::uuid, 'viewer')",
        &[&project, &editor, &viewer],
    )
    .unwrap();
    tx.commit().unwrap();
    let mut e = db.login_as("editor", &["vibecraft_authenticated"]);
    let mut v = db.login_as("viewer", &["vibecraft_authenticated"]);
    for (client, who, role) in [(&mut e, &editor, "editor"), (&mut v, &viewer, "viewer")] {
        let mut tx = signed_in(client, who);
        let joined: String =
            tx.query_one("SELECT vibecraft.accept_project_invitation($1::text::uuid)", &[&project]).unwrap().get(0);
        assert_eq!(joined, role);
        tx.commit().unwrap();
    }

    // The viewer reads but cannot write.
    let mut tx = signed_in(&mut v, &viewer);
    assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.projects WHERE id = '{project}'")), 1);
    let updated = tx.execute("UPDATE vibecraft.projects SET name = 'viewer was here'", &[]).unwrap();
    assert_eq!(updated, 0, "a viewer's UPDATE touches nothing");
    let insert = tx.execute(
        "INSERT INTO vibecraft.project_knowledge (project_id, user_id, title) VALUES ($1::text::uuid, vibecraft.current_user_id(), 'x')",
        &[&project],
    );
    assert_eq!(sqlstate(insert), "42501", "a viewer cannot add knowledge");
    drop(tx);

    // The editor writes.
    let mut tx = signed_in(&mut e, &editor);
    assert_eq!(tx.execute("UPDATE vibecraft.projects SET description = 'edited'", &[]).unwrap(), 1);
    tx.execute(
        "INSERT INTO vibecraft.project_knowledge (project_id, user_id, title) VALUES ($1::text::uuid, vibecraft.current_user_id(), 'Notes')",
        &[&project],
    )
    .unwrap();
    tx.commit().unwrap();

    // A non-member sees nothing of it.
    let mut s = db.login_as("stranger", &["vibecraft_authenticated"]);
    let mut tx = signed_in(&mut s, &stranger);
    for rel in ["projects WHERE id", "project_members WHERE project_id", "project_knowledge WHERE project_id"] {
        assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.{rel} = '{project}'")), 0, "{rel}");
    }
    drop(tx);

    // Leaving ends access within the same transaction.
    let mut tx = signed_in(&mut v, &viewer);
    assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.project_knowledge WHERE project_id = '{project}'")), 1);
    tx.execute("DELETE FROM vibecraft.project_members WHERE user_id = vibecraft.current_user_id()", &[]).unwrap();
    assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.project_knowledge WHERE project_id = '{project}'")), 0);
    tx.commit().unwrap();

    // The owner removes the editor, who can then write nothing.
    let mut tx = signed_in(&mut o, &owner);
    assert_eq!(tx.execute("DELETE FROM vibecraft.project_members WHERE user_id = $1::text::uuid", &[&editor]).unwrap(), 1);
    tx.commit().unwrap();
    let mut tx = signed_in(&mut e, &editor);
    assert_eq!(tx.execute("UPDATE vibecraft.projects SET description = 'again'", &[]).unwrap(), 0);
    assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.projects WHERE id = '{project}'")), 0);
}

#[test]
fn forged_or_bad_tokens_are_refused_and_identity_ends_with_the_transaction() {
    let db = TestDb::new("id_forgery");
    db.superuser().query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut app = db.login_as("app", &["vibecraft_authenticated"]);

    // Claims set by an untrusted client change nothing.
    let forged = json!({ "sub": MIA, "role": "service_role" }).to_string();
    let mut tx = app.transaction().unwrap();
    tx.execute("SELECT set_config('request.jwt.claims', $1, true)", &[&forged]).unwrap();
    tx.batch_execute(&format!("SET LOCAL request.jwt.claim.sub = '{MIA}'")).unwrap();
    let (who, service): (Option<String>, bool) = {
        let r = tx.query_one("SELECT vibecraft.current_user_id()::text, vibecraft.is_service()", &[]).unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((who, service), (None, false));
    assert_eq!(count(&mut tx, "SELECT count(*) FROM vibecraft.users"), 0);
    assert_eq!(sqlstate(tx.batch_execute("SET vibecraft.trust_request_claims = on")), "42501");
    drop(tx);

    let bad = [
        ("wrong secret", token_signed_with("not-the-secret", MIA, json!({})), "signature"),
        ("alg none", unsigned_token(MIA), "unsupported algorithm"),
        ("expired", token(MIA, json!({ "exp": in_seconds(-10) })), "expired"),
        ("not yet valid", token(MIA, json!({ "nbf": in_seconds(600) })), "not valid yet"),
        ("no exp", {
            let t = token(MIA, json!({}));
            let _ = t;
            token_signed_with(&jwt_secret(), MIA, json!({ "exp": null }))
        }, "exp"),
        ("sub not a uuid", token("alice", json!({})), "not a user id"),
    ];
    for (what, t, words) in bad {
        let err = app.query_one("SELECT vibecraft.authenticate($1)", &[&t]).unwrap_err();
        let db_err = err.as_db_error().unwrap_or_else(|| panic!("{what}: {err}"));
        assert_eq!(db_err.code().code(), "28000", "{what}: {}", db_err.message());
        assert!(db_err.message().contains(words), "{what}: message '{}' should say '{words}'", db_err.message());
        assert!(!db_err.message().contains(&jwt_secret()), "{what}: the secret leaked into the message");
    }

    // A good token holds for its transaction only.
    let mut tx = signed_in(&mut app, MIA);
    assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.users WHERE id = '{MIA}'")), 1);
    tx.commit().unwrap();
    let who: Option<String> = app.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(who, None, "identity must end at COMMIT");

    // ... and for its savepoint: rolling back the savepoint rolls the sign-in back.
    let mut tx = app.transaction().unwrap();
    tx.batch_execute("SAVEPOINT s").unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    tx.batch_execute("ROLLBACK TO SAVEPOINT s").unwrap();
    let who: Option<String> = tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(who, None, "identity must end with its savepoint");
    tx.rollback().unwrap();

    // An aborted transaction clears it too.
    let mut tx = signed_in(&mut app, MIA);
    assert!(tx.batch_execute("SELECT 1/0").is_err());
    tx.rollback().unwrap();
    let who: Option<String> = app.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(who, None);
}

#[test]
fn service_tokens_and_trusted_postgrest_claims() {
    let db = TestDb::new("id_trusted");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let users: i64 = su.query_one("SELECT count(*) FROM vibecraft.users", &[]).unwrap().get(0);

    // A Supabase-style service key (role service_role) sees everything.
    let mut app = db.login_as("svc", &["vibecraft_authenticated"]);
    let mut tx = app.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({ "role": "service_role" }))]).unwrap();
    assert_eq!(count(&mut tx, "SELECT count(*) FROM vibecraft.users"), users);
    drop(tx);

    // PostgREST's authenticator, trusted by a superuser, passes claims through settings.
    let role = format!("{}_authenticator", db.name);
    let mut rest = db.login_as("authenticator", &["vibecraft_authenticated"]);
    su.batch_execute(&format!("ALTER ROLE {role} SET vibecraft.trust_request_claims = on")).unwrap();
    drop(rest);
    rest = db.reconnect_as("authenticator");
    let mut tx = rest.transaction().unwrap();
    tx.execute("SELECT set_config('request.jwt.claims', $1, true)", &[&json!({ "sub": MIA, "role": "authenticated" }).to_string()])
        .unwrap();
    let who: Option<String> = tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(who.as_deref(), Some(MIA));
    assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.users WHERE id = '{ERIN}'")), 0);
    // PostgREST's db-pre-request function signs the same user in (for Citus' workers).
    tx.execute("SELECT vibecraft.postgrest_pre_request()", &[]).unwrap();
    tx.execute("SELECT set_config('request.jwt.claims', '', true)", &[]).unwrap();
    let who: Option<String> = tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(who.as_deref(), Some(MIA), "signed in for the transaction, claims or not");
    tx.rollback().unwrap();
    // Untrusted claims sign no one in.
    let mut plain = db.login_as("plain", &["vibecraft_authenticated"]);
    let mut tx = plain.transaction().unwrap();
    tx.execute("SELECT set_config('request.jwt.claims', $1, true)", &[&json!({ "sub": MIA, "role": "authenticated" }).to_string()])
        .unwrap();
    tx.execute("SELECT vibecraft.postgrest_pre_request()", &[]).unwrap();
    let who: Option<String> = tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(who, None, "claims no superuser trusts sign no one in");
}

#[test]
fn secrets_cannot_be_read_or_parked_in_the_catalog() {
    let db = TestDb::new("id_secrets");
    let mut su = db.superuser();
    // Settings in pg_db_role_setting are readable by everyone: refused for secrets.
    for target in [format!("DATABASE {}", db.name), "ROLE postgres".to_string()] {
        let result = su.batch_execute(&format!("ALTER {target} SET vibecraft.jwt_secret = 'parked-secret'"));
        assert_eq!(sqlstate(result), "42501", "ALTER {target} SET must be refused");
    }
    let parked: i64 = su
        .query_one("SELECT count(*) FROM pg_db_role_setting, unnest(setconfig) c
           WHERE c LIKE 'vibecraft.jwt\\_secret=%' OR c LIKE 'vibecraft.encryption\\_keys=%'", &[])
        .unwrap()
        .get(0);
    assert_eq!(parked, 0);

    let mut app = db.login_as("reader", &["vibecraft_authenticated"]);
    let secret = jwt_secret();
    for sql in [
        "SELECT current_setting('vibecraft.jwt_secret', true)",
        "SELECT current_setting('vibecraft.encryption_keys', true)",
        "SELECT string_agg(setting, ',') FROM pg_settings WHERE name LIKE 'vibecraft.%'",
    ] {
        match app.query_one(sql, &[]) {
            Ok(row) => {
                let v: Option<String> = row.get(0);
                assert!(!v.unwrap_or_default().contains(&secret), "{sql} revealed the secret");
            }
            Err(e) => {
                assert_eq!(e.code().unwrap().code(), "42501", "{sql}: {e}");
                assert!(!e.to_string().contains(&secret));
            }
        }
    }
}

#[test]
fn policy_filtered_select_uses_an_index_at_100k_rows() {
    let db = TestDb::new("id_explain");
    let mut su = db.superuser();
    su.batch_execute(
        "INSERT INTO vibecraft.users (id, email)
           SELECT ('b0000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'u' || g || '@example.com'
             FROM generate_series(1, 1000) g;
         INSERT INTO vibecraft.prompt_history (user_id, user_input)
           SELECT ('b0000000-0000-4000-8000-' || lpad((g % 1000 + 1)::text, 12, '0'))::uuid, 'prompt ' || g
             FROM generate_series(1, 100000) g;
         INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after)
           SELECT ('b0000000-0000-4000-8000-' || lpad((g % 1000 + 1)::text, 12, '0'))::uuid, 1, 1
             FROM generate_series(1, 100000) g;
         ANALYZE vibecraft.users, vibecraft.prompt_history, vibecraft.credit_ledger;",
    )
    .unwrap();
    let mut app = db.login_as("explainer", &["vibecraft_authenticated"]);
    let mut tx = signed_in(&mut app, "b0000000-0000-4000-8000-000000000007");
    for table in ["prompt_history", "credit_ledger"] {
        let plan: String = tx
            .query(&format!("EXPLAIN SELECT * FROM vibecraft.{table}"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(plan.contains(&format!("{table}_user_id_idx")), "{table} policy scan must use the user_id index:\n{plan}");
        assert!(!plan.contains("Seq Scan on"), "{table}: no sequential scan:\n{plan}");
        assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.{table}")), 100, "{table}");
    }
}

/// Signing up creates one's own row, and nothing more: no admin role, no credits, no
/// organization, no paid plan (each would be a privilege a user grants itself).
#[test]
fn sign_up_cannot_grant_itself_anything() {
    let db = TestDb::new("id_signup");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut newbie = db.login_as("id_newbie", &["vibecraft_authenticated"]);
    let me = "c2000000-0000-4000-8000-000000000001";
    for (what, columns, values) in [
        ("platform admin", ", system_role", ", 'admin'"),
        ("another organization's ADMIN", ", organization_id, role", ", 'd0000000-0000-4000-8000-000000000001', 'ADMIN'"),
        ("enterprise plan", ", subscription_plan", ", 'enterprise'"),
        ("verified", ", email_verified", ", now()"),
    ] {
        let mut tx = newbie.transaction().unwrap();
        tx.query_one("SELECT vibecraft.authenticate($1)", &[&vibecraft_integration_tests::token(me, serde_json::json!({}))]).unwrap();
        let sql = format!("INSERT INTO vibecraft.users (id, email{columns}) VALUES ('{me}', 'new@example.com'{values})");
        assert_eq!(vibecraft_integration_tests::sqlstate(tx.execute(sql.as_str(), &[])), "42501", "a new user cannot make itself {what}");
    }
    // Nor give itself credits by writing its balance.
    let mut tx = newbie.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&vibecraft_integration_tests::token(me, serde_json::json!({}))]).unwrap();
    let balance = format!("INSERT INTO vibecraft.credit_balances (user_id, credits) VALUES ('{me}', 1000000)");
    assert_eq!(vibecraft_integration_tests::sqlstate(tx.execute(balance.as_str(), &[])), "42501", "a new user cannot give itself credits");
    drop(tx);
    // Nor take an address its token does not vouch for (someone else's, before they sign up).
    let mut tx = newbie.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&vibecraft_integration_tests::token(me, serde_json::json!({}))]).unwrap();
    let plain = format!("INSERT INTO vibecraft.users (id, email) VALUES ('{me}', 'new@example.com')");
    assert_eq!(vibecraft_integration_tests::sqlstate(tx.execute(plain.as_str(), &[])), "42501", "no address without the token's word");
    drop(tx);
    let mut tx = newbie.transaction().unwrap();
    let vouched = vibecraft_integration_tests::token(me, serde_json::json!({ "email": "new@example.com" }));
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&vouched]).unwrap();
    assert_eq!(tx.execute(plain.as_str(), &[]).unwrap(), 1, "a plain sign-up works");
    // Nor can it verify its own address afterwards.
    let verify = "UPDATE vibecraft.users SET email_verified = now() WHERE id = vibecraft.current_user_id()";
    assert_eq!(vibecraft_integration_tests::sqlstate(tx.execute(verify, &[])), "42501", "a user cannot verify its own address");
}

/// The identity a Citus coordinator hands its workers (`vibecraft.node_identity`, set with
/// SET LOCAL by authenticate(); identity/nodes.rs) is verified where it is read: anyone may
/// set the setting, and only a value signed with this cluster's secret, for the database
/// role and the session Citus names, for at most five minutes, makes anyone signed in. It
/// cannot be planted with ALTER ROLE. On a single server authenticate() never sets it. The
/// Citus tier (tests/tests/citus.rs) shows it on real workers.
#[test]
fn a_node_identity_set_by_hand_is_verified_not_trusted() {
    let db = TestDb::new("id_node_identity");
    let mut app = db.login_as("app", &["vibecraft_authenticated"]);
    let role = format!("{}_app", db.name);
    let who = |tx: &mut postgres::Transaction<'_>| -> Result<Option<String>, postgres::Error> {
        tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).map(|r| r.get(0))
    };
    let gpid = 10_000_004_242_i64;
    let citus_name = format!("citus_internal gpid={gpid}");
    let good = node_identity_signed_with(&jwt_secret(), ERIN, gpid, &role, in_seconds(60));
    let refused = [
        ("not signed", "v1.eyJzdWIiOiJ4In0.AAAA".to_string(), citus_name.clone(), "signature"),
        ("another secret", node_identity_signed_with("not-the-secret", ERIN, gpid, &role, in_seconds(60)), citus_name.clone(), "signature"),
        ("another session", good.clone(), "citus_internal gpid=10000004243".to_string(), "another session"),
        ("no Citus connection", good.clone(), "psql".to_string(), "another session"),
        ("another role", node_identity_signed_with(&jwt_secret(), ERIN, gpid, "postgres", in_seconds(60)), citus_name.clone(), "another database role"),
        ("expired", node_identity_signed_with(&jwt_secret(), ERIN, gpid, &role, in_seconds(-1)), citus_name.clone(), "expired"),
        ("an hour long", node_identity_signed_with(&jwt_secret(), ERIN, gpid, &role, in_seconds(3600)), citus_name.clone(), "longer life"),
    ];
    for (what, value, application, words) in refused {
        let mut tx = app.transaction().unwrap();
        tx.batch_execute(&format!("SET LOCAL application_name = '{application}'; SET LOCAL vibecraft.node_identity = '{value}'"))
            .unwrap();
        let err = who(&mut tx).unwrap_err();
        let db_err = err.as_db_error().unwrap_or_else(|| panic!("{what}: {err}"));
        assert_eq!(db_err.code().code(), "28000", "{what}: {}", db_err.message());
        assert!(db_err.message().contains(words), "{what}: '{}' should say '{words}'", db_err.message());
    }
    // Signed, for this role and the session named, in time: honoured, for this transaction
    // only, while the connection stays so named; SHOW does not print it.
    let mut tx = app.transaction().unwrap();
    tx.batch_execute(&format!("SET LOCAL application_name = '{citus_name}'; SET LOCAL vibecraft.node_identity = '{good}'"))
        .unwrap();
    assert_eq!(who(&mut tx).unwrap().as_deref(), Some(ERIN));
    let shown: String = tx.query_one("SELECT current_setting('vibecraft.node_identity')", &[]).unwrap().get(0);
    assert_eq!(shown, "(set)");
    tx.batch_execute("SET LOCAL application_name = 'psql'").unwrap();
    assert_eq!(sqlstate(who(&mut tx)), "28000", "renamed, the connection is no longer the one it was signed for");
    tx.rollback().unwrap();
    let mut tx = app.transaction().unwrap();
    assert_eq!(who(&mut tx).unwrap(), None, "a SET LOCAL identity ends with its transaction");
    // Without Citus, a sign-in is not put into the setting at all.
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    let shown: String = tx.query_one("SELECT current_setting('vibecraft.node_identity')", &[]).unwrap().get(0);
    assert_eq!(shown, "(unset)");
    assert_eq!(who(&mut tx).unwrap().as_deref(), Some(MIA));
    tx.rollback().unwrap();
    // A value planted for every later session of a role (by the role itself) or of a
    // database (even by a superuser) is refused.
    let planted = app.batch_execute(&format!("ALTER ROLE {role} SET vibecraft.node_identity = 'v1.x.y'"));
    assert_eq!(sqlstate(planted), "42501");
    let planted = db.superuser().batch_execute(&format!("ALTER DATABASE {} SET vibecraft.node_identity = 'v1.x.y'", db.name));
    assert_eq!(sqlstate(planted), "42501");
}

/// The policies' helpers read what they need once per statement and keep it in memory:
/// a membership granted or revoked by another transaction counts from the next statement
/// on, a project created in this transaction at once, and one rolled back with its
/// savepoint is forgotten.
#[test]
fn policy_helpers_follow_every_change_statement_by_statement() {
    let db = TestDb::new("id_policy_answers");
    let (mut su, project) = demo_with_erins_project(&db);
    let sees = |tx: &mut postgres::Transaction<'_>, role: &str| -> bool {
        let sql = format!("SELECT '{project}'::uuid = ANY (vibecraft.project_ids_with_role('{role}'))");
        tx.query_one(&sql, &[]).unwrap().get(0)
    };
    let rows = |tx: &mut postgres::Transaction<'_>| count(tx, &format!("SELECT count(*) FROM vibecraft.projects WHERE id = '{project}'"));

    let mut mia = db.login_as("mia", &["vibecraft_authenticated"]);
    let mut tx = signed_in(&mut mia, MIA);
    assert!(!sees(&mut tx, "viewer"));
    assert_eq!(rows(&mut tx), 0);
    // Granted by another transaction: Mia's next statement sees it.
    su.execute(
        "INSERT INTO vibecraft.project_members (project_id, user_id, role) VALUES ($1::text::uuid, $2::text::uuid, 'viewer')",
        &[&project, &MIA],
    )
    .unwrap();
    assert!(sees(&mut tx, "viewer"));
    assert!(!sees(&mut tx, "editor"), "a viewer is no editor");
    assert_eq!(rows(&mut tx), 1);
    // Raised, then revoked.
    su.execute("UPDATE vibecraft.project_members SET role = 'editor' WHERE project_id = $1::text::uuid", &[&project]).unwrap();
    assert!(sees(&mut tx, "editor"));
    su.execute("DELETE FROM vibecraft.project_members WHERE project_id = $1::text::uuid", &[&project]).unwrap();
    assert!(!sees(&mut tx, "viewer"));
    assert_eq!(rows(&mut tx), 0);

    // Mia's own project, created in a savepoint: hers at once, forgotten with the savepoint.
    tx.batch_execute("SAVEPOINT s").unwrap();
    let own: String =
        tx.query_one("INSERT INTO vibecraft.projects (user_id, name) VALUES ($1::text::uuid, 'Mia draft') RETURNING id::text", &[&MIA])
            .unwrap()
            .get(0);
    let owns = |tx: &mut postgres::Transaction<'_>| -> bool {
        tx.query_one(&format!("SELECT '{own}'::uuid = ANY (vibecraft.project_ids_with_role('owner'))"), &[]).unwrap().get(0)
    };
    assert!(owns(&mut tx));
    tx.batch_execute("ROLLBACK TO SAVEPOINT s").unwrap();
    assert!(!owns(&mut tx), "a project rolled back with its savepoint is still counted");
    tx.commit().unwrap();

    // Admin rights end with the users row that grants them, from the next statement on.
    let mut tx = signed_in(&mut mia, MIA);
    assert!(!tx.query_one("SELECT vibecraft.is_admin()", &[]).unwrap().get::<_, bool>(0));
    su.execute("UPDATE vibecraft.users SET system_role = 'admin' WHERE id = $1::text::uuid", &[&MIA]).unwrap();
    assert!(tx.query_one("SELECT vibecraft.is_admin()", &[]).unwrap().get::<_, bool>(0));
    assert_eq!(rows(&mut tx), 1, "an admin sees every project");
    su.execute("UPDATE vibecraft.users SET status = 'SUSPENDED' WHERE id = $1::text::uuid", &[&MIA]).unwrap();
    assert!(!tx.query_one("SELECT vibecraft.is_admin()", &[]).unwrap().get::<_, bool>(0));
    assert_eq!(rows(&mut tx), 0);
    // An unknown role is refused, as ever.
    assert_eq!(sqlstate(tx.query_one("SELECT vibecraft.project_ids_with_role('boss')", &[])), "22023");
}

/// The helpers hand out one transaction-lived array per answer: it must never outlive its
/// transaction, be changed through a caller's copy, or answer for another identity, even when
/// the identity changes inside one statement, in a procedure that commits, or in a savepoint.
#[test]
fn policy_helper_answers_belong_to_one_identity_and_one_transaction() {
    let db = TestDb::new("id_policy_lifetimes");
    let (mut su, project) = demo_with_erins_project(&db);
    let mut mia = db.login_as("mia", &["vibecraft_authenticated"]);
    su.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS lifetimes AUTHORIZATION {}_mia", db.name)).unwrap();
    let (erin, own) = (token(ERIN, json!({})), token(MIA, json!({})));
    let text = |c: &mut Client, sql: &str| -> String { c.query_one(sql, &[]).unwrap().get(0) };

    // A WITH HOLD cursor keeps Erin's answer past COMMIT; the backend must not reuse freed memory.
    mia.batch_execute(&format!(
        "BEGIN; SELECT vibecraft.authenticate('{erin}');
         DECLARE held CURSOR WITH HOLD FOR
           SELECT vibecraft.project_ids_with_role('owner')::text FROM generate_series(1, 3);
         COMMIT;"
    ))
    .unwrap();
    text(&mut mia, "SELECT string_agg(repeat('x', 1000), '') FROM generate_series(1, 2000)");
    for row in mia.query("FETCH ALL FROM held", &[]).unwrap() {
        assert!(row.get::<_, String>(0).contains(&project), "a held answer changed after its transaction");
    }
    mia.batch_execute("CLOSE held").unwrap();
    assert_eq!(text(&mut mia, "SELECT vibecraft.project_ids_with_role('owner')::text"), "{}", "no identity after COMMIT");

    // One statement, two identities: each call answers for the identity of its moment.
    let mut tx = mia.transaction().unwrap();
    let row = tx
        .query_one(
            &format!(
                "SELECT vibecraft.project_ids_with_role('owner')::text,
                        (SELECT vibecraft.authenticate('{own}') IS NOT NULL),
                        vibecraft.project_ids_with_role('owner')::text
                   FROM (SELECT vibecraft.authenticate('{erin}')) signed_in"
            ),
            &[],
        )
        .unwrap();
    assert!(row.get::<_, String>(0).contains(&project));
    assert!(!row.get::<_, String>(2).contains(&project), "Mia got Erin's cached answer in the same statement");
    tx.commit().unwrap();

    // A procedure that changes its copy of the answer, commits and rolls back.
    mia.batch_execute(&format!(
        r#"CREATE PROCEDURE lifetimes.churn(t text) LANGUAGE plpgsql AS $$
           DECLARE a uuid[]; b uuid[];
           BEGIN
             PERFORM vibecraft.authenticate(t);
             a := vibecraft.project_ids_with_role('owner');
             b := vibecraft.project_ids_with_role('owner');
             a[1] := '00000000-0000-0000-0000-000000000000';
             a := array_append(a, '00000000-0000-0000-0000-000000000001'::uuid);
             IF NOT ('{project}'::uuid = ANY (vibecraft.project_ids_with_role('owner'))) THEN
               RAISE EXCEPTION 'changing a copy changed the answer';
             END IF;
             COMMIT;
             IF cardinality(vibecraft.project_ids_with_role('owner')) <> 0 THEN
               RAISE EXCEPTION 'the answer outlived its transaction';
             END IF;
             FOR i IN 1..3 LOOP
               PERFORM vibecraft.authenticate(t);
               b := vibecraft.project_ids_with_role('owner');
               ROLLBACK;
             END LOOP;
             IF NOT ('{project}'::uuid = ANY (b)) OR cardinality(a) <> 2 THEN
               RAISE EXCEPTION 'a kept copy changed: a=% b=%', a, b;
             END IF;
           END $$;"#
    ))
    .unwrap();
    mia.batch_execute(&format!("CALL lifetimes.churn('{erin}')")).unwrap();

    // Signed in as Erin inside a savepoint or an exception block: forgotten with it.
    let mut tx = signed_in(&mut mia, MIA);
    tx.batch_execute(&format!("SAVEPOINT s; SELECT vibecraft.authenticate('{erin}')")).unwrap();
    assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.projects WHERE id = '{project}'")), 1);
    tx.batch_execute("ROLLBACK TO SAVEPOINT s").unwrap();
    assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.projects WHERE id = '{project}'")), 0);
    tx.batch_execute(&format!(
        "DO $$ BEGIN PERFORM vibecraft.authenticate('{erin}'); PERFORM vibecraft.project_ids_with_role('owner');
                RAISE EXCEPTION 'undo'; EXCEPTION WHEN raise_exception THEN NULL; END $$"
    ))
    .unwrap();
    assert_eq!(count(&mut tx, &format!("SELECT count(*) FROM vibecraft.projects WHERE id = '{project}'")), 0);
    let me: String = tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(me, MIA);
}

/// Policies call their helpers directly, so that Citus can push them down to the workers
/// (it refuses subqueries in the policies of distributed tables): none looks up another
/// table (what the last four did is now a trigger or a column: write_model.rs).
#[test]
fn policies_have_no_subqueries() {
    let db = TestDb::new("id_policy_forms");
    let mut su = db.superuser();
    let with_subqueries: Vec<String> = su
        .query(
            "SELECT tablename || '.' || policyname FROM pg_policies
              WHERE schemaname = 'vibecraft'
                AND (coalesce(qual, '') ~* '\\mselect\\M' OR coalesce(with_check, '') ~* '\\mselect\\M')
              ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(with_subqueries.is_empty(), "policies with a subquery, which Citus cannot push down: {with_subqueries:?}");
}

/// Signing in again and again, or in and out, keeps no history beyond one entry per open
/// savepoint (found by an attack review: 400,000 sign-ins in one statement built a chain
/// whose drop at COMMIT overflowed the stack and crashed the server), and rolling back a
/// savepoint that signed in and out returns to the identity from before it.
#[test]
fn repeated_sign_ins_keep_no_history_and_savepoints_restore_the_identity_before_them() {
    let db = TestDb::new("id_sign_in_churn");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut mia = db.login_as("mia", &["vibecraft_authenticated"]);
    let (erin, own) = (token(ERIN, json!({})), token(MIA, json!({})));
    let signed_in_many: i64 = mia
        .query_one("SELECT count(vibecraft.authenticate($1)) FROM generate_series(1, 500000)", &[&own])
        .unwrap()
        .get(0);
    assert_eq!(signed_in_many, 500000);
    mia.batch_execute(&format!(
        "BEGIN; SELECT count(vibecraft.sign_out()) + count(vibecraft.authenticate('{own}')) FROM generate_series(1, 300000); COMMIT"
    ))
    .unwrap();
    let me = |tx: &mut postgres::Transaction<'_>| -> Option<String> {
        tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0)
    };
    let mut tx = signed_in(&mut mia, MIA);
    tx.batch_execute(&format!("SAVEPOINT s; SELECT vibecraft.authenticate('{erin}'); SELECT vibecraft.sign_out(); ROLLBACK TO SAVEPOINT s"))
        .unwrap();
    assert_eq!(me(&mut tx).as_deref(), Some(MIA), "a savepoint's sign-in outlived its rollback");
    tx.batch_execute(&format!(
        "DO $$ BEGIN PERFORM vibecraft.authenticate('{erin}'); PERFORM vibecraft.sign_out(); RAISE EXCEPTION 'undo';
                EXCEPTION WHEN raise_exception THEN NULL; END $$"
    ))
    .unwrap();
    assert_eq!(me(&mut tx).as_deref(), Some(MIA));
    tx.batch_execute(&format!(
        "SELECT vibecraft.sign_out(); SAVEPOINT t; SELECT vibecraft.authenticate('{erin}'); SELECT vibecraft.sign_out();
         SELECT vibecraft.authenticate('{erin}'); ROLLBACK TO SAVEPOINT t"
    ))
    .unwrap();
    assert_eq!(me(&mut tx), None, "signed out before the savepoint, so signed out after its rollback");
    tx.batch_execute(&format!("SAVEPOINT u; SELECT vibecraft.authenticate('{own}'); RELEASE u")).unwrap();
    assert_eq!(me(&mut tx).as_deref(), Some(MIA), "a released savepoint keeps its sign-in");
    tx.commit().unwrap();
}

#[test]
fn answers_that_change_in_one_transaction_are_not_kept_one_per_change() {
    let db = TestDb::new("id_answer_memory");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    su.execute(
        "INSERT INTO vibecraft.projects (user_id, name) SELECT $1::text::uuid, 'many ' || g FROM generate_series(1, 9000) g",
        &[&MIA],
    )
    .unwrap();
    let mut mia = db.login_as("mia", &["vibecraft_authenticated"]);
    // The backend's private memory (not shared buffers), from the kernel: the server runs
    // on this machine, as everywhere make test runs.
    let pid: i32 = mia.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let private_kb = || -> i64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).expect("RssAnon in /proc/PID/status");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let mut tx = signed_in(&mut mia, MIA);
    tx.query_one("SELECT cardinality(vibecraft.project_ids_with_role('viewer'))", &[]).unwrap();
    let before = private_kb();
    // 600 answers of 9,000 ids each, every one different from the last: kept one per
    // change, that is about 500 MB until COMMIT.
    tx.batch_execute(&format!(
        "DO $$ BEGIN
           FOR i IN 1..600 LOOP
             INSERT INTO vibecraft.projects (user_id, name) VALUES ('{MIA}', 'one more ' || i);
             PERFORM cardinality(vibecraft.project_ids_with_role('viewer'));
             PERFORM count(*) FROM vibecraft.projects;
           END LOOP;
         END $$"
    ))
    .unwrap();
    let grown_mb = (private_kb() - before) / 1024;
    let answer: i32 = tx.query_one("SELECT cardinality(vibecraft.project_ids_with_role('viewer'))", &[]).unwrap().get(0);
    assert!(answer >= 9600, "the last answer counts every project: {answer}");
    assert!(grown_mb < 64, "600 changing answers grew the backend by {grown_mb} MB");
    tx.commit().unwrap();
}

/// A policy helper answers in the calling statement's snapshot, also in a transaction that
/// has written (where SPI, left to itself, takes a fresh snapshot per query): a membership
/// another session commits while the statement runs is not in that statement's answer, and
/// is in the next one's.
#[test]
fn policy_helpers_answer_in_the_statements_snapshot_after_the_transaction_wrote() {
    let db = TestDb::new("id_statement_snapshot");
    let (mut su, erins) = demo_with_erins_project(&db);
    let mut mia = db.login_as("mia", &["vibecraft_authenticated"]);
    let pid: i32 = mia.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let mut other = db.superuser();
    let mut grant = other.transaction().unwrap();
    grant.query_one("SELECT pg_advisory_xact_lock(4242)", &[]).unwrap();
    let mut tx = signed_in(&mut mia, MIA);
    tx.query_one("SELECT pg_current_xact_id()", &[]).unwrap(); // the transaction has an id
    // The statement takes its snapshot, waits for the lock (the subquery is scanned first),
    // then asks the helper; meanwhile the other session adds Mia to Erin's project.
    let during = std::thread::scope(|s| {
        let asking = s.spawn(|| {
            count(
                &mut tx,
                "SELECT cardinality(vibecraft.project_ids_with_role('viewer'))::int8
                   FROM (SELECT pg_advisory_xact_lock_shared(4242)) AS waited",
            )
        });
        let waiting = "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'";
        let started = std::time::Instant::now();
        while su.query_one(waiting, &[&pid]).unwrap().get::<_, i64>(0) == 0 {
            assert!(started.elapsed().as_secs() < 60, "Mia's statement never waited for the lock");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        grant
            .execute(
                "INSERT INTO vibecraft.project_members (project_id, user_id, role) VALUES ($1::text::uuid, $2::text::uuid, 'viewer')",
                &[&erins, &MIA],
            )
            .unwrap();
        grant.commit().unwrap();
        asking.join().unwrap()
    });
    let after = count(&mut tx, "SELECT cardinality(vibecraft.project_ids_with_role('viewer'))::int8");
    assert_eq!(during + 1, after, "the statement's answer holds the membership committed after its snapshot was taken");
    tx.commit().unwrap();
}
