//! What a DBA checks first: which vibecraft is this, and is it configured.

use crate::errors::internal;
use crate::settings;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

const BUILD_PROFILE: &str = if cfg!(debug_assertions) { "debug" } else { "release" };

/// `vibecraft.version()`: the library's version and build profile, e.g. `0.2.0 (release)`.
#[pg_extern(immutable, parallel_safe)]
fn version() -> String {
    format!("{} ({BUILD_PROFILE})", env!("CARGO_PKG_VERSION"))
}

/// `vibecraft.health_check()`: installed vs available version, server version, and
/// whether the secrets are configured (never their values).
#[pg_extern(stable, parallel_safe)]
fn health_check() -> JsonB {
    // Read-only SPI (Spi::get_three would take a transaction id, refused on a replica).
    let (installed, available, server_version) = Spi::connect(|c| {
        c.select(
            "SELECT (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'vibecraft'),
                (SELECT a.default_version FROM pg_catalog.pg_available_extensions a
                  WHERE a.name = 'vibecraft'),
                pg_catalog.current_setting('server_version')",
            Some(1),
            &[],
        )?
        .first()
        .get_three::<String, String, String>()
    })
    .unwrap_or_else(|e| internal(format!("vibecraft.health_check: catalog lookup failed: {e}")));

    let library = env!("CARGO_PKG_VERSION");
    JsonB(json!({
        "library_version": library,
        "build": BUILD_PROFILE,
        "extension_installed": installed,
        "extension_available": available,
        "update_available": available.is_some() && installed != available,
        "library_matches_installed": installed.as_deref() == Some(library),
        "server_version": server_version,
        "server_version_num": pg_sys::PG_VERSION_NUM,
        "jwt_secret_configured": settings::is_configured(&settings::JWT_SECRET),
        "keyring_configured": settings::is_configured(&settings::ENCRYPTION_KEYS),
        "trust_request_claims": settings::TRUST_REQUEST_CLAIMS.get(),
        "in_shared_preload_libraries": settings::loaded_at_preload(),
        // SAFETY: a read of the server's recovery state.
        "in_recovery": unsafe { pg_sys::RecoveryInProgress() },
    }))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn version_names_cargo_version_and_profile() {
        let v = Spi::get_one::<String>("SELECT vibecraft.version()").unwrap().unwrap();
        assert_eq!(v, format!("{} ({})", env!("CARGO_PKG_VERSION"), super::BUILD_PROFILE));
    }

    #[pg_test]
    fn health_check_reports_installed_version_and_unset_secrets() {
        let h = Spi::get_one::<pgrx::JsonB>("SELECT vibecraft.health_check()").unwrap().unwrap().0;
        assert_eq!(h["extension_installed"], env!("CARGO_PKG_VERSION"));
        assert_eq!(h["library_matches_installed"], true);
        assert_eq!(h["update_available"], false);
        assert_eq!(h["in_shared_preload_libraries"], true, "pg_test loads vibecraft at preload");
        assert_eq!(h["jwt_secret_configured"], false);
        assert_eq!(h["server_version_num"].as_i64().unwrap() / 10000, pgrx::pg_sys::PG_VERSION_NUM as i64 / 10000);
    }

    #[pg_test]
    fn secret_settings_are_masked_even_when_set() {
        Spi::run("SET vibecraft.jwt_secret = 'super-secret-value-123'").unwrap();
        let shown = Spi::get_one::<String>("SELECT current_setting('vibecraft.jwt_secret')").unwrap().unwrap();
        assert_eq!(shown, "(set)");
        // NO_SHOW_ALL keeps the secret settings out of pg_settings altogether.
        let listed = Spi::get_one::<i64>(
            "SELECT count(*) FROM pg_settings WHERE name LIKE 'vibecraft.%' AND setting LIKE '%super-secret%'",
        ).unwrap().unwrap();
        assert_eq!(listed, 0);
        let h = Spi::get_one::<pgrx::JsonB>("SELECT vibecraft.health_check()").unwrap().unwrap().0;
        assert_eq!(h["jwt_secret_configured"], true);
        Spi::run("SET vibecraft.jwt_secret = '   '").unwrap();
        let h = Spi::get_one::<pgrx::JsonB>("SELECT vibecraft.health_check()").unwrap().unwrap().0;
        assert_eq!(h["jwt_secret_configured"], false, "whitespace is not a secret");
    }
}
