//! Encryption of provider API keys: AES-256-GCM under a keyring only superusers can set.
//!
//! Keyring: `vibecraft.encryption_keys = 'v2:<base64 of 32 bytes>, v1:<base64 of 32 bytes>'`.
//! The first key listed encrypts; every listed key decrypts. Key ids are 1 to 32
//! characters of [A-Za-z0-9_-].
//!
//! Envelope (one text value): `vc1:<key id>:<base64url(nonce || ciphertext || tag)>`, with
//! a fresh 96-bit nonce per encryption from PostgreSQL's strong random source, drawn
//! through the backend's pool of random bytes (ids::pooled_random: never handed out twice). The associated data
//! authenticated with it is `vc1:<key id>:<associated_data>`, so a ciphertext moved to
//! another row (another associated_data) or relabelled with another key id fails.
//!
//! Errors: no keyring, or a malformed one: SQLSTATE 55000, naming the setting, never
//! the key material. A ciphertext that does not authenticate, names an unknown key or
//! is malformed: SQLSTATE 22023. Never garbage, never the plaintext.

use crate::errors::raise;
use crate::settings;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use pgrx::prelude::*;
use std::cell::RefCell;

const FORMAT: &str = "vc1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

struct Keyring {
    /// The setting's bytes, to notice when it changes.
    source: Vec<u8>,
    /// (key id, cipher), the encrypting key first.
    keys: Vec<(String, Aes256Gcm)>,
}

thread_local! {
    static KEYRING: RefCell<Option<Keyring>> = const { RefCell::new(None) };
}

fn keyring_error(problem: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("vibecraft: {problem}"),
        Some("A superuser sets vibecraft.encryption_keys = 'v1:<base64 of 32 random bytes>' in postgresql.conf; list the newest key first."),
    )
}

fn valid_key_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn parse_keyring(source: &str) -> Vec<(String, Aes256Gcm)> {
    let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
    for entry in source.split([',', ' ', '\n', '\t']).filter(|e| !e.is_empty()) {
        let Some((id, encoded)) = entry.split_once(':') else {
            keyring_error("vibecraft.encryption_keys has an entry without a key id (expected id:base64key)")
        };
        if !valid_key_id(id) {
            keyring_error("vibecraft.encryption_keys has a key id that is not 1-32 characters of A-Z, a-z, 0-9, _ or -");
        }
        let bytes = STANDARD
            .decode(encoded)
            .ok()
            .filter(|b| b.len() == 32)
            .unwrap_or_else(|| keyring_error(&format!("key {id} in vibecraft.encryption_keys is not 32 bytes of base64")));
        if keys.iter().any(|(k, _)| k == id) {
            keyring_error(&format!("key id {id} appears twice in vibecraft.encryption_keys"));
        }
        let cipher = Aes256Gcm::new_from_slice(&bytes).expect("32-byte key");
        keys.push((id.to_string(), cipher));
    }
    keys
}

/// Run `f` with the current keyring, parsed once per distinct setting value (each call
/// only compares the setting's bytes with the parsed ones).
fn with_keyring<T>(f: impl FnOnce(&[(String, Aes256Gcm)]) -> T) -> T {
    KEYRING.with(|k| {
        let mut k = k.borrow_mut();
        settings::with_configured(&settings::ENCRYPTION_KEYS, |source| {
            let Some(source) = source else {
                keyring_error("no encryption key is configured (vibecraft.encryption_keys is empty)")
            };
            if k.as_ref().is_none_or(|ring| ring.source != source) {
                let keys = parse_keyring(&String::from_utf8_lossy(source));
                if keys.is_empty() {
                    keyring_error("vibecraft.encryption_keys lists no key");
                }
                *k = Some(Keyring { source: source.to_vec(), keys });
            }
        });
        f(&k.as_ref().expect("set above").keys)
    })
}

/// `vc1:<key id>:`, the start of an envelope and of its associated data.
fn prefix(key_id: &str, capacity: usize) -> String {
    let mut out = String::with_capacity(FORMAT.len() + key_id.len() + 2 + capacity);
    out.push_str(FORMAT);
    out.push(':');
    out.push_str(key_id);
    out.push(':');
    out
}

fn aad(key_id: &str, associated_data: Option<&str>) -> Vec<u8> {
    let associated_data = associated_data.unwrap_or("");
    let mut out = prefix(key_id, associated_data.len());
    out.push_str(associated_data);
    out.into_bytes()
}

pub fn encrypt(plaintext: &str, associated_data: Option<&str>) -> String {
    let mut nonce = [0u8; NONCE_LEN];
    crate::ids::pooled_random(&mut nonce);
    with_keyring(|keys| {
        let (key_id, cipher) = &keys[0];
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext.as_bytes(), aad: &aad(key_id, associated_data) })
            .unwrap_or_else(|_| raise(PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED, "vibecraft: the value is too long to encrypt", None));
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        let mut envelope = prefix(key_id, blob.len().div_ceil(3) * 4);
        URL_SAFE_NO_PAD.encode_string(blob, &mut envelope);
        envelope
    })
}

fn bad_ciphertext(problem: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("vibecraft.decrypt_api_key: {problem}"),
        Some("The value must be a vc1 envelope made by vibecraft.encrypt_api_key with the same associated data."),
    )
}

/// The key id an envelope names, if it is one of ours.
pub fn envelope_key_id(envelope: &str) -> Option<&str> {
    let rest = envelope.strip_prefix(FORMAT)?.strip_prefix(':')?;
    let (id, _) = rest.split_once(':')?;
    valid_key_id(id).then_some(id)
}

pub fn decrypt(envelope: &str, associated_data: Option<&str>) -> String {
    let Some(key_id) = envelope_key_id(envelope) else {
        bad_ciphertext("the value is not a vibecraft ciphertext (expected vc1:<key id>:<data>)")
    };
    let encoded = &envelope[FORMAT.len() + key_id.len() + 2..];
    let blob = URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .filter(|b| b.len() >= NONCE_LEN + TAG_LEN)
        .unwrap_or_else(|| bad_ciphertext("the ciphertext is truncated or not base64url"));
    with_keyring(|keys| {
        let Some((_, cipher)) = keys.iter().find(|(id, _)| id == key_id) else {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("vibecraft.decrypt_api_key: the value was encrypted with key {key_id}, which is not in vibecraft.encryption_keys"),
                Some("Add that key back to the keyring (after the current one) to read it, then run vibecraft.rotate_encryption_key()."),
            )
        };
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
        let plain = cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: &aad(key_id, associated_data) })
            .unwrap_or_else(|_| bad_ciphertext("the ciphertext does not authenticate: it was altered, belongs to another row (associated data), or was made with another key"));
        String::from_utf8(plain).unwrap_or_else(|_| bad_ciphertext("the decrypted value is not UTF-8 text"))
    })
}

/// Key ids in the keyring, the encrypting one first (never the keys themselves).
pub fn keyring_ids() -> Vec<String> {
    with_keyring(|keys| keys.iter().map(|(id, _)| id.clone()).collect())
}

/// `vibecraft.encrypt_api_key(plaintext, associated_data)`: an AES-256-GCM envelope.
#[pg_extern(volatile, parallel_safe)]
fn encrypt_api_key(plaintext: Option<&str>, associated_data: default!(Option<&str>, "NULL")) -> Option<String> {
    // NULL in, NULL out, as for any SQL function; associated_data may be NULL on its own.
    plaintext.map(|p| encrypt(p, associated_data))
}

/// `vibecraft.decrypt_api_key(ciphertext, associated_data)`: the plaintext, or 22023.
#[pg_extern(stable, parallel_safe)]
fn decrypt_api_key(ciphertext: Option<&str>, associated_data: default!(Option<&str>, "NULL")) -> Option<String> {
    ciphertext.map(|c| decrypt(c, associated_data))
}

/// `vibecraft.encryption_key_id(ciphertext)`: the key id an envelope names, or NULL.
#[pg_extern(immutable, parallel_safe)]
fn encryption_key_id(ciphertext: &str) -> Option<String> {
    envelope_key_id(ciphertext).map(str::to_string)
}

/// `vibecraft.encryption_key_ids()`: the keyring's key ids, the encrypting key first.
#[pg_extern(stable, parallel_safe)]
fn encryption_key_ids() -> Vec<String> {
    keyring_ids()
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn with_keys(keys: &str) {
        Spi::run(&format!("SET vibecraft.encryption_keys = '{keys}'")).unwrap();
    }
    const K1: &str = "v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "v2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    #[pg_test]
    fn roundtrip_and_fresh_nonces() {
        with_keys(K1);
        let (a, b) = Spi::get_two::<String, String>(
            "SELECT vibecraft.encrypt_api_key('sk-secret', 'u1'), vibecraft.encrypt_api_key('sk-secret', 'u1')",
        )
        .unwrap();
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_ne!(a, b, "two encryptions of one plaintext differ");
        assert!(a.starts_with("vc1:v1:"));
        assert!(!a.contains("sk-secret"));
        let back = Spi::get_one_with_args::<String>("SELECT vibecraft.decrypt_api_key($1, 'u1')", &[a.as_str().into()]).unwrap();
        assert_eq!(back.as_deref(), Some("sk-secret"));
    }

    #[pg_test(error = "vibecraft.decrypt_api_key: the ciphertext does not authenticate: it was altered, belongs to another row (associated data), or was made with another key")]
    fn other_associated_data_fails() {
        with_keys(K1);
        let a = super::encrypt("sk-secret", Some("u1"));
        super::decrypt(&a, Some("u2"));
    }

    #[pg_test]
    fn older_keys_still_decrypt_and_the_first_key_encrypts() {
        with_keys(K1);
        let old = super::encrypt("sk-old", None);
        with_keys(&format!("{K2},{K1}"));
        assert_eq!(super::decrypt(&old, None), "sk-old");
        assert!(super::encrypt("x", None).starts_with("vc1:v2:"));
        assert_eq!(super::keyring_ids(), vec!["v2", "v1"]);
    }

    #[pg_test(error = "vibecraft: key bad in vibecraft.encryption_keys is not 32 bytes of base64")]
    fn short_key_is_refused_without_echoing_it() {
        with_keys("bad:c2hvcnQ=");
        super::encrypt("x", None);
    }
}
