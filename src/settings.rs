//! Server settings (GUCs) that vibecraft reads.
//!
//! Secrets (`vibecraft.jwt_secret`, `vibecraft.encryption_keys`) are SUSET, so only
//! superusers can set them, and they carry a show hook that masks their value: SHOW,
//! `current_setting`, `pg_settings` and `pg_show_all_settings()` all print `(set)` or
//! `(unset)` to everyone, superusers included. The real value is only read from Rust.
//! Members of `pg_read_all_settings` would otherwise be able to read a SUPERUSER_ONLY
//! setting, which is why masking, not hiding, is the protection here.

use pgrx::{pg_sys, GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::{CStr, CString};

/// HS256 secret that `vibecraft.authenticate(jwt)` verifies tokens against.
pub static JWT_SECRET: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// Keyring for provider-key encryption: versioned 256-bit keys, newest first.
pub static ENCRYPTION_KEYS: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(None);

/// Whether `current_user_id()` may fall back to PostgREST/Supabase request claims.
/// SUSET: a superuser enables it per role or database (the PostgREST authenticator).
pub static TRUST_REQUEST_CLAIMS: GucSetting<bool> = GucSetting::<bool>::new(false);

/// The most bytes a row written by a signed-in caller (not the service role) may hold.
pub static MAX_ROW_BYTES: GucSetting<i32> = GucSetting::<i32>::new(1_048_576);
/// The same for a row written while nobody is signed in (feedback, error reports).
pub static MAX_ANONYMOUS_ROW_BYTES: GucSetting<i32> = GucSetting::<i32>::new(65_536);

/// The sign-in a Citus coordinator hands to its workers for one transaction (identity/nodes.rs):
/// anyone may set it, only a value signed with the JWT secret's derived key is honoured.
pub static NODE_IDENTITY: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// True when the library was loaded through shared_preload_libraries, which is what
/// makes the secret settings known before any session could plant a placeholder.
static mut LOADED_AT_PRELOAD: bool = false;

pub fn register() {
    // SAFETY: _PG_init runs once per backend, single-threaded, before any query.
    unsafe {
        LOADED_AT_PRELOAD = pg_sys::process_shared_preload_libraries_in_progress;
    }
    define_secret(
        c"vibecraft.jwt_secret",
        c"HS256 secret used to verify JWTs in vibecraft.authenticate().",
        &JWT_SECRET,
        Some(show_jwt_secret),
    );
    define_secret(
        c"vibecraft.encryption_keys",
        c"Keyring for encrypting provider API keys: 'v2:<base64 key>,v1:<base64 key>'.",
        &ENCRYPTION_KEYS,
        Some(show_encryption_keys),
    );
    // Not a secret (it is verified, not trusted), but a bearer value while it lasts:
    // masked like the secrets, so SHOW and pg_settings do not print it.
    // SAFETY: as in define_secret.
    unsafe {
        pg_sys::DefineCustomStringVariable(
            c"vibecraft.node_identity".as_ptr(),
            c"The signed-in identity a Citus coordinator hands to its workers for one transaction.".as_ptr(),
            c"Set by vibecraft.authenticate() with SET LOCAL; a value not signed with this cluster's JWT secret is refused.".as_ptr(),
            NODE_IDENTITY.as_ptr(),
            std::ptr::null(),
            pg_sys::GucContext::PGC_USERSET,
            GucFlags::NO_SHOW_ALL.bits(),
            Some(only_set_in_a_session),
            None,
            Some(show_node_identity),
        );
    }
    GucRegistry::define_bool_guc(
        c"vibecraft.trust_request_claims",
        c"Let current_user_id() fall back to PostgREST/Supabase request.jwt.claims.",
        c"Enable only for the role PostgREST connects as; clients of other roles could forge claims with SET.",
        &TRUST_REQUEST_CLAIMS,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"vibecraft.max_row_bytes",
        c"The most bytes a row written by a signed-in caller may hold (vibecraft.guard_public_write).",
        c"The service role and superusers are not held to it.",
        &MAX_ROW_BYTES,
        1_024,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_BYTE,
    );
    GucRegistry::define_int_guc(
        c"vibecraft.max_anonymous_row_bytes",
        c"The most bytes a row written while nobody is signed in may hold (vibecraft.guard_public_write).",
        c"Anonymous writes are also rate limited by the anon_insert:<table> rules.",
        &MAX_ANONYMOUS_ROW_BYTES,
        256,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_BYTE,
    );
}

fn define_secret(
    name: &'static CStr,
    description: &'static CStr,
    setting: &'static GucSetting<Option<CString>>,
    show_hook: pg_sys::GucShowHook,
) {
    // pgrx's define_string_guc takes no show hook, so call PostgreSQL directly.
    // SAFETY: name, description and the setting are 'static; PostgreSQL owns the
    // string the pointer addresses from now on, as for every string GUC.
    unsafe {
        pg_sys::DefineCustomStringVariable(
            name.as_ptr(),
            description.as_ptr(),
            c"Superuser-only; its value is masked in SHOW, current_setting and pg_settings.".as_ptr(),
            setting.as_ptr(),
            std::ptr::null(),
            pg_sys::GucContext::PGC_SUSET,
            (GucFlags::SUPERUSER_ONLY | GucFlags::NO_SHOW_ALL | GucFlags::NOT_WHILE_SEC_REST)
                .bits(),
            Some(refuse_catalog_sources),
            None,
            show_hook,
        );
    }
}

/// Check hook of the secret settings: refuse values coming from `ALTER DATABASE/ROLE
/// ... SET` (and function SET clauses), because pg_db_role_setting, where those live,
/// is readable by every user. Secrets belong in postgresql.conf or ALTER SYSTEM.
unsafe extern "C-unwind" fn refuse_catalog_sources(
    _newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    source: pg_sys::GucSource::Type,
) -> bool {
    use pg_sys::GucSource::*;
    if matches!(source, PGC_S_TEST | PGC_S_DATABASE | PGC_S_USER | PGC_S_DATABASE_USER) {
        // SAFETY: PostgreSQL reads these strings when the hook returns false.
        unsafe {
            pg_sys::GUC_check_errcode(pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE as i32);
            pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(
                c"Values set with ALTER DATABASE or ALTER ROLE are readable by every user in pg_db_role_setting.".as_ptr(),
            );
            pg_sys::GUC_check_errhint_string =
                pg_sys::pstrdup(c"Set it in postgresql.conf (or with ALTER SYSTEM) and reload.".as_ptr());
        }
        return false;
    }
    true
}

/// Check hook of vibecraft.node_identity: a value only from SET / SET LOCAL / set_config
/// (or a function's SET clause) in a session, never from ALTER ROLE/DATABASE, a file or the
/// connection's options, where one planted value would apply to every later session.
unsafe extern "C-unwind" fn only_set_in_a_session(
    newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    source: pg_sys::GucSource::Type,
) -> bool {
    use pg_sys::GucSource::*;
    // SAFETY: PostgreSQL passes the candidate value (or NULL) and reads these strings when
    // the hook returns false.
    unsafe {
        let empty = (*newval).is_null() || *(*newval) == 0;
        if empty || matches!(source, PGC_S_DEFAULT | PGC_S_DYNAMIC_DEFAULT | PGC_S_SESSION) {
            return true;
        }
        pg_sys::GUC_check_errcode(pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE as i32);
        pg_sys::GUC_check_errdetail_string =
            pg_sys::pstrdup(c"vibecraft.node_identity is set by vibecraft.authenticate() for one transaction only.".as_ptr());
    }
    false
}

fn masked(setting: &GucSetting<Option<CString>>) -> *const std::ffi::c_char {
    if is_configured(setting) {
        c"(set)".as_ptr()
    } else {
        c"(unset)".as_ptr()
    }
}

unsafe extern "C-unwind" fn show_jwt_secret() -> *const std::ffi::c_char {
    masked(&JWT_SECRET)
}

unsafe extern "C-unwind" fn show_node_identity() -> *const std::ffi::c_char {
    masked(&NODE_IDENTITY)
}

unsafe extern "C-unwind" fn show_encryption_keys() -> *const std::ffi::c_char {
    masked(&ENCRYPTION_KEYS)
}

/// A secret setting counts as configured when it holds anything but whitespace.
pub fn is_configured(setting: &GucSetting<Option<CString>>) -> bool {
    with_configured(setting, |value| value.is_some())
}

/// Run `f` with a text setting's bytes as PostgreSQL holds them, or None when it is
/// unset or only whitespace. Nothing is copied: GucSetting::get() allocates a CString per
/// read, which the per-call paths (the keyring on every encrypt and decrypt) avoid.
pub fn with_configured<T>(setting: &GucSetting<Option<CString>>, f: impl FnOnce(Option<&[u8]>) -> T) -> T {
    // SAFETY: the pointer is PostgreSQL's current value of the setting (or NULL); it stays
    // valid until the setting is next assigned, which nothing inside `f` does.
    let value = unsafe {
        let raw = *setting.as_ptr();
        (!raw.is_null()).then(|| std::ffi::CStr::from_ptr(raw).to_bytes())
    };
    f(value.filter(|v| !v.iter().all(u8::is_ascii_whitespace)))
}

pub fn loaded_at_preload() -> bool {
    // SAFETY: written once in _PG_init, read-only afterwards.
    unsafe { LOADED_AT_PRELOAD }
}
