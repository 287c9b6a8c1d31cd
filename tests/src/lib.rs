//! Helpers for the integration tests: a fresh database per test with vibecraft
//! installed, and real non-superuser login roles to connect as.
//!
//! The tests need a running cluster; `make test` starts one and sets
//! `VIBECRAFT_TEST_DSN` (e.g. `host=localhost port=28816 user=postgres`).

use postgres::{Client, NoTls};

pub use postgres;

/// Connection string of the scratch cluster's superuser, without a database name.
pub fn superuser_dsn() -> String {
    std::env::var("VIBECRAFT_TEST_DSN")
        .expect("VIBECRAFT_TEST_DSN is not set: run the integration tests through `make test`")
}

pub fn connect(dsn: &str) -> Client {
    Client::connect(dsn, NoTls).unwrap_or_else(|e| panic!("cannot connect with '{dsn}': {e}"))
}

/// A database of its own for one test, with vibecraft freshly installed.
pub struct TestDb {
    pub name: String,
}

/// An empty database of this name, dropped first if a former run left it.
pub fn fresh_database(name: &str) {
    let mut admin = connect(&format!("{} dbname=postgres", superuser_dsn()));
    // Separate statements: DROP/CREATE DATABASE cannot run in a transaction block.
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
}

impl TestDb {
    pub fn new(name: &str) -> TestDb {
        let name = format!("it_{name}");
        fresh_database(&name);
        let db = TestDb { name };
        db.superuser()
            .batch_execute("SET client_min_messages = warning; CREATE EXTENSION vibecraft CASCADE;")
            .unwrap();
        db
    }

    /// A superuser connection (setup and checks only: superusers bypass RLS).
    pub fn superuser(&self) -> Client {
        connect(&format!("{} dbname={}", superuser_dsn(), self.name))
    }

    /// Create a non-superuser login role that is a member of `groups`, and connect as it.
    /// Role names are cluster-wide, so they are prefixed with the test database's name.
    pub fn login_as(&self, role: &str, groups: &[&str]) -> Client {
        let role = format!("{}_{role}", self.name);
        let mut su = self.superuser();
        su.batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB;"
        ))
        .unwrap();
        for g in groups {
            su.batch_execute(&format!("GRANT {g} TO {role}")).unwrap();
        }
        drop(su);
        let mut client = self.connect_role(&role);
        let is_super: bool = client
            .query_one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", &[])
            .unwrap()
            .get(0);
        assert!(!is_super, "test role {role} must not be a superuser");
        client
    }
}

impl TestDb {
    /// A fresh connection as a login role made earlier by `login_as` (settings set with
    /// ALTER ROLE apply to new connections only).
    pub fn reconnect_as(&self, role: &str) -> Client {
        self.connect_role(&format!("{}_{role}", self.name))
    }

    fn connect_role(&self, full_role: &str) -> Client {
        let user_dsn = superuser_dsn().replace("user=postgres", &format!("user={full_role}"));
        connect(&format!("{user_dsn} dbname={}", self.name))
    }
}

/// The SQLSTATE of a failed statement, or panic if it did not fail.
pub fn sqlstate<T: std::fmt::Debug>(result: Result<T, postgres::Error>) -> String {
    match result {
        Ok(v) => panic!("expected an SQL error, got {v:?}"),
        Err(e) => e
            .code()
            .map(|c| c.code().to_string())
            .unwrap_or_else(|| panic!("expected an SQL error, got a client error: {e}")),
    }
}

/// The scratch cluster's JWT secret (set by `make test`).
pub fn jwt_secret() -> String {
    std::env::var("VIBECRAFT_JWT_SECRET").expect("VIBECRAFT_JWT_SECRET is not set: run through `make test`")
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// An HS256 token for `sub`, valid for an hour, with extra claims merged in.
pub fn token(sub: &str, extra: serde_json::Value) -> String {
    token_signed_with(&jwt_secret(), sub, extra)
}

pub fn token_signed_with(secret: &str, sub: &str, extra: serde_json::Value) -> String {
    let mut claims = serde_json::json!({ "sub": sub, "role": "authenticated", "exp": now() + 3600 });
    if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Seconds from now, for exp and nbf claims.
pub fn in_seconds(s: i64) -> i64 {
    now() + s
}

/// An unsigned token (`alg: none`), which must always be refused.
pub fn unsigned_token(sub: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64.encode(serde_json::json!({ "sub": sub, "role": "authenticated", "exp": now() + 3600 }).to_string());
    format!("{header}.{payload}.")
}

/// A `vibecraft.node_identity` value as a Citus coordinator's vibecraft signs it (with a
/// key derived from `secret`), for `sub`, bound to the coordinator backend `gpid` and the
/// database role `db_role`, valid until `exp`: to show that workers verify it rather than
/// trust it.
pub fn node_identity_signed_with(secret: &str, sub: &str, gpid: i64, db_role: &str, exp: i64) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mac = |key: &[u8], text: &[u8]| {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        m.update(text);
        m.finalize().into_bytes()
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let key = mac(secret.as_bytes(), b"vibecraft node identity v1");
    let payload = serde_json::json!({ "sub": sub, "role": "authenticated", "claims": { "sub": sub }, "gpid": gpid, "db_role": db_role, "exp": exp });
    let body = format!("v1.{}", b64.encode(payload.to_string()));
    let tag = b64.encode(mac(&key, body.as_bytes()));
    format!("{body}.{tag}")
}
