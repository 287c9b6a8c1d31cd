//! vibecraft in a database shaped as Supabase's image shapes one, driven as its services
//! drive it: GoTrue (as `supabase_auth_admin`) writes `auth.users`; PostgREST (as
//! `authenticator`) runs each request as `SET LOCAL ROLE <role>` plus
//! `request.jwt.claims`; Storage (as `supabase_storage_admin`) does the same. The roles,
//! `auth.users` and `auth.uid()` follow Supabase's init scripts and GoTrue's migrations
//! (the facts in DESIGN.md); docs/supabase.md is the setup these tests run.
//!
//! `make test` runs this file as its own tier (tier 8). Supabase's role names are
//! cluster-wide, so they are created once and shared by the tests here; each test has
//! its own database.

use postgres::{Client, Transaction};
use serde_json::{json, Value};
use std::sync::Once;
use vibecraft_integration_tests::{connect, fresh_database, sqlstate, superuser_dsn, token};

static SUPABASE_ROLES: Once = Once::new();

/// Supabase's roles, with the attributes its init scripts give them.
fn create_supabase_roles() {
    SUPABASE_ROLES.call_once(|| {
        let mut su = connect(&format!("{} dbname=postgres", superuser_dsn()));
        su.batch_execute(
            "DO $$
             BEGIN
                 IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
                     -- Created NOINHERIT, made INHERIT again by a 2023 migration.
                     CREATE ROLE anon NOLOGIN NOINHERIT;
                     CREATE ROLE authenticated NOLOGIN NOINHERIT;
                     CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
                     ALTER ROLE anon INHERIT; ALTER ROLE authenticated INHERIT; ALTER ROLE service_role INHERIT;
                     CREATE ROLE authenticator LOGIN NOINHERIT;
                     GRANT anon, authenticated, service_role TO authenticator;
                     CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE;
                     CREATE ROLE supabase_storage_admin LOGIN NOINHERIT CREATEROLE;
                     GRANT anon, authenticated, service_role TO supabase_storage_admin;
                 END IF;
             END $$;
             -- docs/supabase.md, step 2: the roles get vibecraft's, and PostgREST's claims count.
             GRANT vibecraft_anon TO anon;
             GRANT vibecraft_authenticated TO authenticated;
             GRANT vibecraft_service TO service_role;
             ALTER ROLE authenticator SET vibecraft.trust_request_claims = on;",
        )
        .unwrap();
    });
}

struct SupabaseDb {
    name: String,
}

impl SupabaseDb {
    /// A database as Supabase's image leaves it (schemas `extensions` and `auth`, GoTrue's
    /// `auth.users` and `auth.uid()`), then vibecraft installed by docs/supabase.md.
    fn new(name: &str, link: bool) -> SupabaseDb {
        create_supabase_roles();
        let name = format!("it_supabase_{name}");
        fresh_database(&name);
        let db = SupabaseDb { name };
        db.superuser()
            .batch_execute(
                "CREATE SCHEMA extensions;
                 GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
                 CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
                 GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;",
            )
            .unwrap();
        // GoTrue's migrations run as supabase_auth_admin (the columns vibecraft reads, and
        // a few around them).
        db.connect_as("supabase_auth_admin")
            .batch_execute(
                "CREATE TABLE auth.users (
                     instance_id uuid, id uuid PRIMARY KEY, aud varchar(255), role varchar(255),
                     email varchar(255) UNIQUE, encrypted_password varchar(255), email_confirmed_at timestamptz,
                     raw_app_meta_data jsonb, raw_user_meta_data jsonb, is_super_admin boolean,
                     created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(),
                     phone text, deleted_at timestamptz, is_anonymous boolean NOT NULL DEFAULT false);
                 CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
                     SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                                     (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;
                 CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
                     SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                                     (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text $$;
                 GRANT EXECUTE ON FUNCTION auth.uid(), auth.role() TO anon, authenticated, service_role;",
            )
            .unwrap();
        // docs/supabase.md, step 1.
        db.superuser()
            .batch_execute("SET client_min_messages = warning; CREATE EXTENSION vibecraft CASCADE;")
            .unwrap();
        if link {
            db.superuser().batch_execute("SELECT vibecraft.link_supabase_auth()").unwrap();
        }
        db
    }

    fn superuser(&self) -> Client {
        connect(&format!("{} dbname={}", superuser_dsn(), self.name))
    }

    fn connect_as(&self, role: &str) -> Client {
        let dsn = superuser_dsn().replace("user=postgres", &format!("user={role}"));
        connect(&format!("{dsn} dbname={}", self.name))
    }

    /// GoTrue's sign-up: one row into auth.users, as supabase_auth_admin.
    fn sign_up(&self, id: &str, email: &str, meta: Value) {
        self.connect_as("supabase_auth_admin")
            .execute(
                "INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password, raw_app_meta_data, raw_user_meta_data)
                 VALUES ('00000000-0000-0000-0000-000000000000', $1::text::uuid, 'authenticated', 'authenticated', $2,
                         'bcrypt-hash', '{\"provider\": \"email\"}', $3::text::jsonb)",
                &[&id, &email, &meta.to_string()],
            )
            .unwrap();
    }
}

/// One PostgREST request: a transaction as `role` with the verified claims of `sub`.
fn request<'a>(client: &'a mut Client, role: &str, sub: Option<&str>) -> Transaction<'a> {
    let mut tx = client.transaction().unwrap();
    tx.batch_execute(&format!("SET LOCAL ROLE {role}")).unwrap();
    let claims = match sub {
        Some(sub) => json!({ "sub": sub, "role": role, "aud": "authenticated" }),
        None => json!({ "role": role }),
    };
    tx.execute("SELECT set_config('request.jwt.claims', $1, true)", &[&claims.to_string()]).unwrap();
    tx
}

fn one<T: for<'r> postgres::types::FromSql<'r>>(tx: &mut Transaction<'_>, sql: &str) -> T {
    tx.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

const ANA: &str = "5a000000-0000-4000-8000-000000000001";
const BO: &str = "5a000000-0000-4000-8000-000000000002";

#[test]
fn supabase_install_keeps_public_clean() {
    let db = SupabaseDb::new("install", true);
    let mut su = db.superuser();
    let trgm: String = su
        .query_one("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'", &[])
        .unwrap()
        .get(0);
    assert_eq!(trgm, "extensions", "CREATE EXTENSION vibecraft CASCADE puts pg_trgm where Supabase keeps extensions");
    let in_public: i64 = su
        .query_one(
            "SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)
                  + (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(in_public, 0, "nothing of vibecraft's or pg_trgm's lands in public (Supabase's linter: extension_in_public)");
    // Without a schema `extensions`, CASCADE behaves as PostgreSQL's own.
    su.batch_execute("DROP EXTENSION vibecraft CASCADE; DROP EXTENSION pg_trgm; DROP SCHEMA extensions CASCADE;
                      SET client_min_messages = warning; CREATE EXTENSION vibecraft CASCADE;")
        .unwrap();
    let trgm: String = su
        .query_one("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'", &[])
        .unwrap()
        .get(0);
    assert_eq!(trgm, "public");
}

#[test]
fn supabase_sign_up_gives_a_usable_user() {
    let db = SupabaseDb::new("sign_up", true);
    db.sign_up(ANA, "ana@example.com", json!({ "full_name": "Ana Lima", "avatar_url": "https://a.example/ana.png" }));
    db.sign_up(BO, "bo@example.com", json!({ "name": "Bo" }));

    let mut rest = db.connect_as("authenticator");
    let mut tx = request(&mut rest, "authenticated", Some(ANA));
    // Both identities agree inside a request.
    assert!(one::<bool>(&mut tx, "SELECT auth.uid() = vibecraft.current_user_id()"));
    let (email, full_name): (String, String) = {
        let row = tx.query_one("SELECT email::text, full_name::text FROM vibecraft.users WHERE id = auth.uid()", &[]).unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((email.as_str(), full_name.as_str()), ("ana@example.com", "Ana Lima"), "the row GoTrue's sign-up made");
    // Usable at once: a write that refers to the user, without a profile insert first.
    let project: String = one(&mut tx, "INSERT INTO vibecraft.projects (user_id, name) VALUES (auth.uid(), 'First') RETURNING name::text");
    assert_eq!(project, "First");
    // Isolation: Ana sees herself only (no shared organization).
    assert_eq!(one::<i64>(&mut tx, "SELECT count(*) FROM vibecraft.users"), 1);
    tx.commit().unwrap();

    // supabase-js upsert() of one's own profile, as PostgREST writes it (every key of the
    // payload in the INSERT and in DO UPDATE SET, id included), on the table and the view.
    let mut tx = request(&mut rest, "authenticated", Some(ANA));
    let name: String = one(
        &mut tx,
        &format!(
            "INSERT INTO vibecraft.users (id, full_name, avatar_url) VALUES ('{ANA}', 'Ana L.', NULL)
             ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id, full_name = EXCLUDED.full_name, avatar_url = EXCLUDED.avatar_url
             RETURNING full_name::text"
        ),
    );
    assert_eq!(name, "Ana L.");
    let bio: String = one(
        &mut tx,
        &format!(
            "INSERT INTO vibecraft.user_profiles (id, bio) VALUES ('{ANA}', 'writes prompts')
             ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id, bio = EXCLUDED.bio RETURNING bio::text"
        ),
    );
    assert_eq!(bio, "writes prompts");
    tx.commit().unwrap();

    // The same upsert of another user's profile, or one that changes an id, is refused.
    let mut tx = request(&mut rest, "authenticated", Some(ANA));
    let theirs = tx.batch_execute(&format!(
        "INSERT INTO vibecraft.users (id, full_name) VALUES ('{BO}', 'not Bo')
         ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id, full_name = EXCLUDED.full_name"
    ));
    assert_eq!(sqlstate(theirs), "42501");
    drop(tx);
    let mut tx = request(&mut rest, "authenticated", Some(ANA));
    let moved = tx.batch_execute(&format!("UPDATE vibecraft.users SET id = '5a000000-0000-4000-8000-0000000000ff' WHERE id = '{ANA}'"));
    assert_eq!(sqlstate(moved), "42501", "a user's id never changes");
    drop(tx);
    let mut su = db.superuser();
    let bo: String = su.query_one(&format!("SELECT full_name::text FROM vibecraft.users WHERE id = '{BO}'"), &[]).unwrap().get(0);
    assert_eq!(bo, "Bo", "Bo's profile is untouched");

    // Anonymous requests may not read users at all.
    let mut tx = request(&mut rest, "anon", None);
    assert_eq!(sqlstate(tx.query_one("SELECT count(*) FROM vibecraft.users", &[])), "42501");
    drop(tx);

    // A sign-up vibecraft cannot take whole never fails GoTrue: an address another
    // vibecraft user holds, or one vibecraft's CHECK refuses, is left out.
    su.batch_execute("INSERT INTO vibecraft.users (id, email) VALUES ('5a000000-0000-4000-8000-0000000000aa', 'taken@example.com')")
        .unwrap();
    db.sign_up("5a000000-0000-4000-8000-000000000003", "taken@example.com", json!({}));
    db.sign_up("5a000000-0000-4000-8000-000000000004", "dev@localhost", json!({ "full_name": "x".repeat(500) }));
    let left_out: i64 = su
        .query_one(
            "SELECT count(*) FROM vibecraft.users WHERE id IN ('5a000000-0000-4000-8000-000000000003', '5a000000-0000-4000-8000-000000000004')
                AND email IS NULL AND full_name IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left_out, 2);
}

#[test]
fn supabase_deleting_the_auth_user_leaves_no_orphan() {
    let db = SupabaseDb::new("delete", true);
    db.sign_up(ANA, "ana@example.com", json!({ "full_name": "Ana Lima" }));
    db.sign_up(BO, "bo@example.com", json!({ "full_name": "Bo Berg" }));
    let mut rest = db.connect_as("authenticator");
    for user in [ANA, BO] {
        let mut tx = request(&mut rest, "authenticated", Some(user));
        tx.batch_execute("INSERT INTO vibecraft.projects (user_id, name) VALUES (auth.uid(), 'Mine')").unwrap();
        tx.commit().unwrap();
    }
    // Bo bought credits (the service role, as a payment webhook would): money records.
    let mut tx = request(&mut rest, "service_role", None);
    let balance: i32 = tx.query_one("SELECT vibecraft.add_credits($1::text::uuid, 50, 'purchase')", &[&BO]).unwrap().get(0);
    assert_eq!(balance, 50);
    tx.commit().unwrap();

    // GoTrue's admin deleteUser: a DELETE on auth.users as supabase_auth_admin.
    let mut gotrue = db.connect_as("supabase_auth_admin");
    gotrue.execute("DELETE FROM auth.users WHERE id = ANY($1::text[]::uuid[])", &[&vec![ANA, BO]]).unwrap();

    let mut su = db.superuser();
    let ana: i64 = su.query_one(&format!("SELECT count(*) FROM vibecraft.users WHERE id = '{ANA}'"), &[]).unwrap().get(0);
    let ana_projects: i64 = su.query_one(&format!("SELECT count(*) FROM vibecraft.projects WHERE user_id = '{ANA}'"), &[]).unwrap().get(0);
    assert_eq!((ana, ana_projects), (0, 0), "a user without money records is removed with its data");
    let row = su
        .query_one(
            &format!(
                "SELECT email IS NULL AND full_name IS NULL AND name IS NULL AND NOT is_active AND deleted_at IS NOT NULL,
                        (SELECT b.credits FROM vibecraft.credit_balances b WHERE b.user_id = u.id), (SELECT sum(amount)::int FROM vibecraft.credit_ledger WHERE user_id = u.id)
                   FROM vibecraft.users u WHERE id = '{BO}'"
            ),
            &[],
        )
        .unwrap();
    let (anonymised, credits, ledger): (bool, i32, i32) = (row.get(0), row.get(1), row.get(2));
    assert!(anonymised, "a user with a ledger keeps an anonymised, soft-deleted row");
    assert_eq!(credits, ledger, "and its ledger still adds up");
    let orphans: i64 = su
        .query_one(
            "SELECT count(*) FROM vibecraft.users u WHERE u.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM auth.users a WHERE a.id = u.id)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(orphans, 0, "no live vibecraft user without its GoTrue account");

    // GoTrue's soft delete (deleted_at set) forgets the user too.
    db.sign_up("5a000000-0000-4000-8000-000000000005", "cy@example.com", json!({}));
    gotrue.batch_execute("UPDATE auth.users SET deleted_at = now(), email = NULL WHERE id = '5a000000-0000-4000-8000-000000000005'").unwrap();
    let cy: i64 = su.query_one("SELECT count(*) FROM vibecraft.users WHERE id = '5a000000-0000-4000-8000-000000000005'", &[]).unwrap().get(0);
    assert_eq!(cy, 0);
}

#[test]
fn supabase_link_adopts_existing_users_once() {
    let db = SupabaseDb::new("link", false);
    db.sign_up(ANA, "ana@example.com", json!({ "full_name": "Ana Lima" }));
    db.sign_up(BO, "bo@example.com", json!({}));
    let mut su = db.superuser();
    let first: String = su.query_one("SELECT vibecraft.link_supabase_auth()", &[]).unwrap().get(0);
    assert!(first.ends_with("2 users created now"), "{first}");
    let again: String = su.query_one("SELECT vibecraft.link_supabase_auth()", &[]).unwrap().get(0);
    assert!(again.ends_with("0 users created now"), "{again}");
    // Only superusers tie vibecraft to another schema's table.
    let mut svc = db.connect_as("authenticator");
    let mut tx = request(&mut svc, "service_role", None);
    assert_eq!(sqlstate(tx.batch_execute("SELECT vibecraft.link_supabase_auth()")), "42501");
    drop(tx);
    // An address change in GoTrue follows, unverified until GoTrue confirms it.
    let mut gotrue = db.connect_as("supabase_auth_admin");
    gotrue.batch_execute(&format!("UPDATE auth.users SET email = 'ana@new.example', email_confirmed_at = NULL WHERE id = '{ANA}'")).unwrap();
    let email: String = su.query_one(&format!("SELECT email::text FROM vibecraft.users WHERE id = '{ANA}'"), &[]).unwrap().get(0);
    assert_eq!(email, "ana@new.example");
}

#[test]
fn supabase_identity_on_every_path() {
    let db = SupabaseDb::new("identity", true);
    db.sign_up(ANA, "ana@example.com", json!({}));
    // A direct connection signed in with vibecraft.authenticate(): vibecraft knows the
    // user, auth.uid() (which reads PostgREST's settings) does not. Policies of one's
    // own therefore call vibecraft.current_user_id(), which answers on every path.
    let mut su = db.superuser();
    su.batch_execute("DROP ROLE IF EXISTS it_supabase_backend; CREATE ROLE it_supabase_backend LOGIN IN ROLE authenticated")
        .unwrap();
    let mut direct = db.connect_as("it_supabase_backend");
    let mut tx = direct.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(ANA, json!({}))]).unwrap();
    let (vibecraft_id, auth_uid): (Option<String>, Option<String>) = {
        let row = tx.query_one("SELECT vibecraft.current_user_id()::text, auth.uid()::text", &[]).unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((vibecraft_id.as_deref(), auth_uid.as_deref()), (Some(ANA), None));
    drop(tx);

    // Supabase Storage sets the claims itself, as supabase_storage_admin: vibecraft does not
    // trust them until a superuser says so for that role (docs/supabase.md).
    let storage_request = |db: &SupabaseDb| -> Option<String> {
        let mut storage = db.connect_as("supabase_storage_admin");
        let mut tx = request(&mut storage, "authenticated", Some(ANA));
        tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0)
    };
    assert_eq!(storage_request(&db), None);
    su.batch_execute(&format!("ALTER ROLE supabase_storage_admin IN DATABASE {} SET vibecraft.trust_request_claims = on", db.name))
        .unwrap();
    assert_eq!(storage_request(&db).as_deref(), Some(ANA));
    // A client that sets the claims itself on its own connection gets nothing from them.
    let mut tx = direct.transaction().unwrap();
    tx.execute("SELECT set_config('request.jwt.claims', $1, true)", &[&json!({ "sub": ANA }).to_string()]).unwrap();
    let forged: Option<String> = tx.query_one("SELECT vibecraft.current_user_id()::text", &[]).unwrap().get(0);
    assert_eq!(forged, None);
}
