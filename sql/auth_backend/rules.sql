-- The auth backend's tables (Auth.js / NextAuth): accounts, sessions (user_sessions), verification tokens.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- PromptCraft's user_sessions. Without the session token: a view reads its table with the
-- caller's column privileges, and the token is the auth backend's alone (it is the
-- HttpOnly cookie's value; an API that returned it would undo HttpOnly).
CREATE OR REPLACE VIEW vibecraft.user_sessions WITH (security_invoker = true) AS
SELECT id, user_id, expires, expires AS expires_at, ip_address, user_agent,
       last_activity_at, created_at, updated_at
  FROM vibecraft.sessions;

-- These tables are the auth backend's (the service role's): it links OAuth identities,
-- issues sessions and verification tokens. A signed-in user sees its own linked
-- accounts and sessions without their tokens (column grants), and may end (delete) its
-- own sessions; it creates and changes none of them.
CREATE POLICY own_read ON vibecraft.accounts FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_read ON vibecraft.sessions FOR SELECT
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY own_sign_out ON vibecraft.sessions FOR DELETE
    USING (user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY staff_only ON vibecraft.verification_tokens FOR SELECT
    USING (vibecraft.is_service());

COMMENT ON TABLE vibecraft.accounts IS 'Auth.js OAuth accounts linked to a user.';
COMMENT ON TABLE vibecraft.sessions IS 'Auth.js sessions; daily_maintenance deletes expired ones. Also reachable as user_sessions.';
COMMENT ON TABLE vibecraft.verification_tokens IS 'Auth.js email verification tokens (auth backend only); daily_maintenance deletes expired ones.';
COMMENT ON VIEW vibecraft.user_sessions IS 'Seed name of sessions; auto-updatable, RLS applies.';

-- Privileges. No token column (refresh, access and id tokens, session tokens) is
-- readable by a signed-in user.
GRANT SELECT (id, user_id, type, provider, provider_account_id, expires_at, token_type, scope, created_at, updated_at)
  ON vibecraft.accounts TO vibecraft_authenticated;
GRANT SELECT (id, user_id, expires, ip_address, user_agent, last_activity_at, created_at, updated_at), DELETE
  ON vibecraft.sessions TO vibecraft_authenticated;
GRANT SELECT, DELETE ON vibecraft.user_sessions TO vibecraft_authenticated;
