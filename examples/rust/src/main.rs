//! vibecraft from Rust (tokio-postgres): sign up, get credits, create a project, save a
//! provider key, spend credits, read the statistics.
//!
//!     DATABASE_URL=postgresql://app@localhost/mydb VIBECRAFT_JWT_SECRET=... cargo run -p vibecraft-example-rust
//!
//! DATABASE_URL names the application's login role (a member of vibecraft_authenticated),
//! never a superuser. Tokens normally come from your auth server; this program signs its
//! own with the server's JWT secret so that it can run on its own.

use std::time::{SystemTime, UNIX_EPOCH};
use tokio_postgres::{Client, NoTls, Transaction};
use uuid::Uuid;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// An HS256 token, as an auth server (Supabase GoTrue, Auth.js, ...) issues it.
/// It vouches for the user's address: a user signs up only with its token's `email`.
fn sign_jwt(sub: Uuid, role: &str, email: Option<&str>, secret: &str) -> Result<String> {
    let exp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 600;
    let claims = serde_json::json!({ "sub": sub.to_string(), "role": role, "email": email, "exp": exp });
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    Ok(jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key)?)
}

/// A transaction that acts as the token's subject; the identity ends with it.
async fn signed_in<'a>(client: &'a mut Client, token: &str) -> Result<Transaction<'a>> {
    let tx = client.transaction().await?;
    tx.execute("SELECT vibecraft.authenticate($1)", &[&token]).await?;
    Ok(tx)
}

fn check(ok: bool, what: impl std::fmt::Display) -> Result<()> {
    if ok { Ok(()) } else { Err(format!("rust example failed: {what}").into()) }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let secret = std::env::var("VIBECRAFT_JWT_SECRET")?;
    let user_id = Uuid::new_v4();
    let email = format!("rust-{}@example.com", &user_id.to_string()[..8]);
    let user_token = sign_jwt(user_id, "authenticated", Some(&email), &secret)?;
    // The backend's own identity: role service_role may act for any user.
    let backend_token = sign_jwt(Uuid::new_v4(), "service_role", None, &secret)?;

    let (mut client, connection) = tokio_postgres::connect(&std::env::var("DATABASE_URL")?, NoTls).await?;
    tokio::spawn(connection);

    let tx = signed_in(&mut client, &user_token).await?;
    tx.execute("INSERT INTO vibecraft.users (id, email, name) VALUES ($1, $2, 'Rust example')", &[&user_id, &email])
        .await?;
    tx.commit().await?;

    let tx = signed_in(&mut client, &backend_token).await?;
    let welcome = format!("welcome:{user_id}");
    let balance: i32 = tx
        .query_one("SELECT vibecraft.add_credits($1, 100, 'welcome credits', $2)", &[&user_id, &welcome])
        .await?
        .get(0);
    tx.commit().await?;
    check(balance == 100, format!("balance {balance} after the welcome credits"))?;

    let tx = signed_in(&mut client, &user_token).await?;
    let project_id: Uuid = tx
        .query_one("INSERT INTO vibecraft.projects (user_id, name) VALUES ($1, 'Rust example project') RETURNING id", &[&user_id])
        .await?
        .get(0);
    let provider_key = format!("sk-proj-{}", Uuid::new_v4().simple());
    tx.execute("SELECT vibecraft.save_provider_key('openai', $1)", &[&provider_key]).await?;
    let hint: String = tx.query_one("SELECT vibecraft.provider_key('openai')", &[]).await?.get(0);
    tx.commit().await?;
    check(!hint.contains(&provider_key), "the owner must see a masked hint, never the key")?;

    let tx = signed_in(&mut client, &user_token).await?;
    let deducted: bool = tx.query_one("SELECT vibecraft.deduct_credits($1, 5, 'image generation')", &[&user_id]).await?.get(0);
    check(deducted, "deduct_credits refused 5 of 100 credits")?;
    let stats: serde_json::Value = tx.query_one("SELECT vibecraft.get_user_stats($1)", &[&user_id]).await?.get(0);
    tx.commit().await?;

    check(stats["credits"] == 95 && stats["credits_spent"] == 5 && stats["projects_owned"] == 1, &stats)?;
    println!(
        "rust: user {user_id} made project {project_id}, saved an openai key ({hint}), spent {} credits, {} left",
        stats["credits_spent"], stats["credits"]
    );
    Ok(())
}
