//! The foundation, seen from a real client connecting as non-superuser login roles.

use vibecraft_integration_tests::{sqlstate, TestDb};

#[test]
fn authenticated_role_reads_version_matching_installed_extension() {
    let db = TestDb::new("found_version");
    let mut app = db.login_as("app", &["vibecraft_authenticated"]);
    let version: String = app.query_one("SELECT vibecraft.version()", &[]).unwrap().get(0);
    let installed: String = db
        .superuser()
        .query_one("SELECT extversion FROM pg_extension WHERE extname = 'vibecraft'", &[])
        .unwrap()
        .get(0);
    assert_eq!(version.split(' ').next().unwrap(), installed);
    // The extension crate's version (this test crate has its own).
    let crate_version = include_str!("../../Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("a version line in Cargo.toml");
    assert_eq!(installed, crate_version, "installed version is the extension crate's version");
}

#[test]
fn health_check_is_for_the_service_role_only() {
    let db = TestDb::new("found_health");
    let mut app = db.login_as("app", &["vibecraft_authenticated"]);
    assert_eq!(sqlstate(app.query_one("SELECT vibecraft.health_check()", &[])), "42501");
    let mut service = db.login_as("service", &["vibecraft_service"]);
    let row = service
        .query_one("SELECT (vibecraft.health_check()->>'keyring_configured')::boolean", &[])
        .unwrap();
    assert!(row.get::<_, bool>(0), "the scratch cluster configures a development keyring");
}

#[test]
fn role_without_vibecraft_grant_is_refused() {
    let db = TestDb::new("found_stranger");
    let mut stranger = db.login_as("stranger", &[]);
    assert_eq!(sqlstate(stranger.query_one("SELECT vibecraft.version()", &[])), "42501");
}

#[test]
fn secrets_are_masked_even_for_pg_read_all_settings() {
    let db = TestDb::new("found_secrets");
    // pg_read_all_settings may read SUPERUSER_ONLY settings; the mask must still hold.
    let mut reader = db.login_as("reader", &["vibecraft_service", "pg_read_all_settings"]);
    for (name, query) in [
        ("SHOW", "SHOW vibecraft.jwt_secret"),
        ("current_setting", "SELECT current_setting('vibecraft.jwt_secret')"),
        ("keyring", "SELECT current_setting('vibecraft.encryption_keys')"),
    ] {
        let shown: String = reader.query_one(query, &[]).unwrap().get(0);
        assert_eq!(shown, "(set)", "{name} must show only that the secret is set");
    }
    // pg_settings and pg_show_all_settings() do not list them at all.
    let listed: i64 = reader
        .query_one(
            "SELECT count(*) FROM pg_show_all_settings() WHERE name IN ('vibecraft.jwt_secret', 'vibecraft.encryption_keys')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(listed, 0);
    let mut app = db.login_as("app", &["vibecraft_authenticated"]);
    assert_eq!(sqlstate(app.batch_execute("SET vibecraft.jwt_secret = 'forged'")), "42501");
    assert_eq!(
        sqlstate(app.query_one("SELECT set_config('vibecraft.encryption_keys', 'v9:x', false)", &[])),
        "42501"
    );
}
