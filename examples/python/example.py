"""vibecraft from Python (psycopg 3): sign up, get credits, create a project, save a
provider key, spend credits, read the statistics.

    DATABASE_URL=postgresql://app@localhost/mydb VIBECRAFT_JWT_SECRET=... python example.py

DATABASE_URL names the application's login role (a member of vibecraft_authenticated),
never a superuser. Tokens normally come from your auth server; this program signs its
own with the server's JWT secret so that it can run on its own.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from contextlib import contextmanager

import psycopg


@contextmanager
def signed_in(conn: psycopg.Connection, token: str):
    """A transaction that acts as the token's subject; the identity ends with it."""
    with conn.transaction():
        conn.execute("SELECT vibecraft.authenticate(%s)", [token])
        yield

def sign_jwt(claims: dict, secret: str) -> str:
    """An HS256 token, as an auth server (Supabase GoTrue, Auth.js, ...) issues it."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({**claims, "exp": int(time.time()) + 600}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def check(ok: bool, what: object) -> None:
    if not ok:
        raise SystemExit(f"python example failed: {what}")


def main() -> None:
    secret = os.environ["VIBECRAFT_JWT_SECRET"]
    user_id = str(uuid.uuid4())
    email = f"py-{user_id[:8]}@example.com"
    # The auth server vouches for the address: a user signs up only with its token's email.
    user_token = sign_jwt({"sub": user_id, "role": "authenticated", "email": email}, secret)
    # The backend's own identity: role service_role may act for any user.
    backend_token = sign_jwt({"sub": str(uuid.uuid4()), "role": "service_role"}, secret)

    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:

        with signed_in(conn, user_token):
            conn.execute(
                "INSERT INTO vibecraft.users (id, email, name) VALUES (%s, %s, %s)",
                [user_id, email, "Python example"],
            )

        with signed_in(conn, backend_token):
            (balance,) = conn.execute(
                "SELECT vibecraft.add_credits(%s, 100, 'welcome credits', %s)", [user_id, f"welcome:{user_id}"]
            ).fetchone()
            check(balance == 100, f"balance {balance} after the welcome credits")

        with signed_in(conn, user_token):
            (project_id,) = conn.execute(
                "INSERT INTO vibecraft.projects (user_id, name) VALUES (%s, 'Python example project') RETURNING id",
                [user_id],
            ).fetchone()
            provider_key = "sk-proj-" + secrets.token_hex(16)
            conn.execute("SELECT vibecraft.save_provider_key('openai', %s)", [provider_key])
            (hint,) = conn.execute("SELECT vibecraft.provider_key('openai')").fetchone()
            check(provider_key not in hint, "the owner must see a masked hint, never the key")

        with signed_in(conn, user_token):
            (deducted,) = conn.execute("SELECT vibecraft.deduct_credits(%s, 5, 'image generation')", [user_id]).fetchone()
            check(deducted is True, "deduct_credits refused 5 of 100 credits")
            (stats,) = conn.execute("SELECT vibecraft.get_user_stats(%s)", [user_id]).fetchone()

    check((stats["credits"], stats["credits_spent"], stats["projects_owned"]) == (95, 5, 1), stats)
    print(
        f"python: user {user_id} made project {project_id}, saved an openai key ({hint}), "
        f"spent {stats['credits_spent']} credits, {stats['credits']} left"
    )


if __name__ == "__main__":
    main()
