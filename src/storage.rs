//! Signed storage URLs: `sign_url(bucket, path, expires_in)` and `verify_signed_url(url)`.
//!
//! A URL is `/storage/v1/object/sign/<bucket>/<path>?expires=<unix seconds>&sig=<mac>`,
//! where mac is base64url(HMAC-SHA256(key, "<bucket>\n<path>\n<expires>")). The key is
//! derived from the superuser-only `vibecraft.jwt_secret` with a label of its own
//! (HMAC(jwt_secret, "vibecraft signed storage URLs")), so a signature can never pass
//! for a token signature or the other way round, and no further secret needs managing.
//! Rotating the JWT secret invalidates every signed URL.
//!
//! Only a caller who may read the asset can sign it: the asset row must be visible to
//! the caller under RLS (sign_url runs as the caller), or the bucket must be public.

use crate::errors::{invalid_parameter as invalid, raise};
use crate::ids;
use crate::settings;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use sha2::Sha256;

const PREFIX: &str = "/storage/v1/object/sign/";
/// Longest validity a URL may be signed for.
const MAX_SECONDS: i64 = 7 * 86_400;
/// What a path keeps unencoded: unreserved characters (RFC 3986) and '/'.
const PATH_KEEPS: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

type HmacSha256 = Hmac<Sha256>;

pub(crate) fn hmac_with(key: &[u8], message: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac
}

/// HMAC-SHA256 (RFC 2104).
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac_with(key, message).finalize().into_bytes().into()
}

/// A key of its own for one use, derived from the JWT secret by HMAC with the use's
/// label; None when no secret is configured.
pub(crate) fn key_from_jwt_secret(label: &[u8]) -> Option<[u8; 32]> {
    let secret = settings::JWT_SECRET.get().filter(|_| settings::is_configured(&settings::JWT_SECRET))?;
    Some(hmac_sha256(secret.to_bytes(), label))
}

fn signing_key() -> [u8; 32] {
    let Some(key) = key_from_jwt_secret(b"vibecraft signed storage URLs") else {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "vibecraft signed URLs: no vibecraft.jwt_secret is configured (the signing key derives from it)",
            Some("A superuser sets vibecraft.jwt_secret in postgresql.conf (docs/dba.md, section 2)."),
        );
    };
    key
}

/// What the signature covers.
fn signed_text(bucket: &str, path: &str, expires: i64) -> String {
    format!("{bucket}\n{path}\n{expires}")
}

fn mac(bucket: &str, path: &str, expires: i64) -> String {
    URL_SAFE_NO_PAD.encode(hmac_sha256(&signing_key(), signed_text(bucket, path, expires).as_bytes()))
}

/// Percent-encode everything but unreserved characters and '/'.
fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH_KEEPS).to_string()
}

/// The path back, or None when a '%' does not start two hex digits or the bytes are not
/// UTF-8 (so a URL encode_path could not have written is refused).
fn decode_path(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%' || bytes.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_decode_str(encoded).decode_utf8().ok().map(|path| path.into_owned())
}

fn now_unix_micros() -> i64 {
    ids::unix_micros(ids::now())
}


/// `vibecraft.sign_url(bucket, path, expires_in)`: a URL that verify_signed_url accepts
/// until it expires.
#[pg_extern(volatile, parallel_restricted)]
fn sign_url(bucket: Option<&str>, path: Option<&str>, expires_in: default!(Option<pgrx::datum::Interval>, "'1 hour'")) -> String {
    const F: &str = "sign_url";
    let (Some(bucket), Some(path)) = (bucket, path) else { invalid(format!("vibecraft.{F}: bucket and path must not be NULL")) };
    if path.is_empty() || path.len() > 1024 {
        invalid(format!("vibecraft.{F}: path must be 1 to 1024 bytes"));
    }
    let seconds = expires_in.map(|i| i.as_micros() / 1_000_000).unwrap_or(0);
    if seconds <= 0 || seconds > MAX_SECONDS as i128 {
        invalid(format!("vibecraft.{F}: expires_in must be between 1 second and 7 days"));
    }
    // As the caller: RLS decides whether the asset is readable.
    // Read-only SPI: a read replica signs URLs too.
    let readable = Spi::connect(|c| {
        c.select(
            "SELECT EXISTS (SELECT 1 FROM vibecraft.storage_buckets b WHERE b.name = $1 AND b.public)
             OR EXISTS (SELECT 1 FROM vibecraft.project_assets a JOIN vibecraft.storage_buckets b ON b.id = a.bucket_id
                         WHERE b.name = $1 AND a.file_path = $2)",
            Some(1),
            &[bucket.into(), path.into()],
        )?
        .first()
        .get_one::<bool>()
    })
    .ok()
    .flatten()
    .unwrap_or(false);
    if !readable {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("vibecraft.{F}: no such object, or you may not read it"),
            Some("Only an object you can read (or one in a public bucket) can be signed."),
        );
    }
    // Rounded up to a whole second: a URL is good for at least expires_in.
    let expires = (now_unix_micros() + seconds as i64 * 1_000_000 + 999_999) / 1_000_000;
    format!("{PREFIX}{}/{}?expires={expires}&sig={}", encode_path(bucket), encode_path(path), mac(bucket, path, expires))
}

/// `vibecraft.verify_signed_url(url)`: true while a URL made by sign_url is unexpired
/// and unaltered; false otherwise (also for anything that is not such a URL).
#[pg_extern(volatile, parallel_restricted)]
fn verify_signed_url(url: Option<&str>) -> bool {
    let Some(url) = url else { return false };
    let Some(rest) = url.find(PREFIX).map(|at| &url[at + PREFIX.len()..]) else { return false };
    let Some((object, query)) = rest.split_once('?') else { return false };
    let Some((bucket, path)) = object.split_once('/') else { return false };
    let (Some(bucket), Some(path)) = (decode_path(bucket), decode_path(path)) else { return false };
    let (mut expires, mut sig) = (None, None);
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("expires", v)) => expires = v.parse::<i64>().ok(),
            Some(("sig", v)) => sig = Some(v),
            _ => return false,
        }
    }
    let (Some(expires), Some(sig)) = (expires, sig) else { return false };
    if expires.saturating_mul(1_000_000) <= now_unix_micros() {
        return false;
    }
    // The key first: with no jwt_secret configured this raises 55000, whatever the signature.
    let key = signing_key();
    // Only the canonical base64url of a MAC decodes to it, so this is sig == mac(...).
    let Ok(tag) = URL_SAFE_NO_PAD.decode(sig) else { return false };
    // verify_slice compares in constant time.
    hmac_with(&key, signed_text(&bucket, &path, expires).as_bytes()).verify_slice(&tag).is_ok()
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// RFC 4231, test case 2.
    #[pg_test]
    fn hmac_matches_the_rfc_vector() {
        let mac = super::hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[pg_test]
    fn paths_round_trip_through_percent_encoding() {
        let path = "d1000000/my file (1)/é.png";
        assert_eq!(super::decode_path(&super::encode_path(path)).as_deref(), Some(path));
    }
}
