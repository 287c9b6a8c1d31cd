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

impl TestDb {
    pub fn new(name: &str) -> TestDb {
        let name = format!("it_{name}");
        let mut admin = connect(&format!("{} dbname=postgres", superuser_dsn()));
        // Separate statements: DROP/CREATE DATABASE cannot run in a transaction block.
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
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
        let user_dsn = superuser_dsn().replace("user=postgres", &format!("user={role}"));
        let mut client = connect(&format!("{user_dsn} dbname={}", self.name));
        let is_super: bool = client
            .query_one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", &[])
            .unwrap()
            .get(0);
        assert!(!is_super, "test role {role} must not be a superuser");
        client
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
