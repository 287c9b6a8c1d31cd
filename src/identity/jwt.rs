//! `vibecraft.authenticate(jwt)`: sign in with an HS256 token signed with
//! `vibecraft.jwt_secret` (the secret a Supabase/GoTrue project signs with, used as raw
//! bytes as GoTrue does). Only HS256 is accepted (`none` and every other algorithm are
//! refused); `exp` and `sub` are required, `exp` and `nbf` are checked with no leeway.

use super::{establish, parse_uuid};
use crate::errors::raise;
use crate::settings;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use pgrx::prelude::*;

fn refuse(message: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        format!("vibecraft.authenticate: {message}"),
        Some("Sign in again to get a fresh token signed with the project's JWT secret."),
    )
}

/// The organization a token names: `organization_id`, `org_id`, or the same keys in
/// Supabase's `app_metadata` (which users cannot edit themselves).
pub fn organization_claim(claims: &serde_json::Value) -> Option<pgrx::Uuid> {
    let keys = ["organization_id", "org_id"];
    let from = |v: &serde_json::Value| {
        keys.iter().find_map(|k| v.get(k).and_then(|x| x.as_str()).and_then(parse_uuid))
    };
    from(claims).or_else(|| claims.get("app_metadata").and_then(from))
}

/// Verify `token` and return its claims, or raise SQLSTATE 28000 saying why not.
pub fn verify(token: &str) -> serde_json::Value {
    let secret = settings::JWT_SECRET.get().filter(|_| settings::is_configured(&settings::JWT_SECRET));
    let Some(secret) = secret else {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "vibecraft.authenticate: no JWT secret is configured",
            Some("A superuser sets vibecraft.jwt_secret in postgresql.conf (docs/dba.md, section 2)."),
        );
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256];
    validation.leeway = 0;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.required_spec_claims = ["exp", "sub"].iter().map(|s| s.to_string()).collect();

    match decode::<serde_json::Value>(token, &DecodingKey::from_secret(secret.to_bytes()), &validation) {
        Ok(data) => data.claims,
        Err(e) => match e.kind() {
            ErrorKind::ExpiredSignature => refuse("the token has expired (exp is in the past)"),
            ErrorKind::ImmatureSignature => refuse("the token is not valid yet (nbf is in the future)"),
            ErrorKind::InvalidSignature => refuse("the token's signature does not match the JWT secret"),
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::UnsupportedAlgorithm => {
                refuse("the token must be signed with HS256")
            }
            ErrorKind::MissingRequiredClaim(claim) => refuse(&format!("the token has no \"{claim}\" claim")),
            ErrorKind::InvalidClaimFormat(claim) => refuse(&format!("the token's \"{claim}\" claim is malformed")),
            // Covers alg "none" and any header naming an algorithm we do not know.
            _ => refuse("the token is malformed or uses an unsupported algorithm (only HS256 is accepted)"),
        },
    }
}

/// `vibecraft.authenticate(jwt text) returns uuid`: verify the token and act as its
/// subject for the rest of the current transaction.
#[pg_extern(volatile, parallel_restricted)]
fn authenticate(jwt: Option<&str>) -> pgrx::Uuid {
    let token = jwt.map(str::trim).filter(|t| !t.is_empty()).unwrap_or_else(|| refuse("no token given"));
    if token.len() > 16 * 1024 {
        refuse("the token is longer than 16 kB");
    }
    let claims = verify(token);
    let user_id = claims
        .get("sub")
        .and_then(|s| s.as_str())
        .and_then(parse_uuid)
        .unwrap_or_else(|| refuse("the token's \"sub\" claim is not a user id (uuid)"));
    let role = claims.get("role").and_then(|r| r.as_str()).map(str::to_string);
    let organization_id = organization_claim(&claims);
    establish(user_id, role, organization_id, claims);
    user_id
}
