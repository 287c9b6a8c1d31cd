//! Signed realtime events. NOTIFY has no access control: any role that can connect may
//! send any payload on any channel, so a listener cannot tell the database's own event
//! from a forged one by looking. `publish_change` (sql/realtime/rules.sql) therefore adds
//! `sig`, base64url(HMAC-SHA256(key, "<channel>\n<event without sig, as jsonb text>")),
//! where the key is derived from the superuser-only `vibecraft.jwt_secret` with a label
//! of its own, as the signed storage URLs' key is. A listener checks an event with
//! `vibecraft.verify_realtime_event(channel, payload)`, or itself with the same key.
//!
//! The signature binds the event to its channel; `at` (the writing transaction's time)
//! lets a listener refuse a replayed old event. With no JWT secret configured the events
//! go out unsigned, and verify answers false.

use crate::storage::{hmac_sha256, hmac_with};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use pgrx::prelude::*;

const LABEL: &[u8] = b"vibecraft realtime events";

fn signed_text(channel: &str, event: &str) -> String {
    format!("{channel}\n{event}")
}

/// `vibecraft.realtime_signature(channel, event)`: the signature publish_change adds.
/// For the extension's owner only (granted to no one): whoever may call it may forge.
#[pg_extern(stable, parallel_safe)]
fn realtime_signature(channel: &str, event: &str) -> Option<String> {
    let key = crate::storage::key_from_jwt_secret(LABEL)?;
    Some(URL_SAFE_NO_PAD.encode(hmac_sha256(&key, signed_text(channel, event).as_bytes())))
}

/// `vibecraft.realtime_signature_matches(channel, event, signature)`: constant-time check.
#[pg_extern(stable, parallel_safe)]
fn realtime_signature_matches(channel: Option<&str>, event: Option<&str>, signature: Option<&str>) -> bool {
    let (Some(channel), Some(event), Some(signature)) = (channel, event, signature) else { return false };
    let Some(key) = crate::storage::key_from_jwt_secret(LABEL) else { return false };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(signature) else { return false };
    hmac_with(&key, signed_text(channel, event).as_bytes()).verify_slice(&tag).is_ok()
}
