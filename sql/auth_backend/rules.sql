-- The auth backend's tables (Auth.js / NextAuth): accounts, sessions (user_sessions), verification tokens.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- PromptCraft's user_sessions.
CREATE OR REPLACE VIEW vibecraft.user_sessions WITH (security_invoker = true) AS
SELECT id, user_id, session_token, expires, expires AS expires_at, ip_address, user_agent,
       last_activity_at, created_at, updated_at
  FROM vibecraft.sessions;


CREATE POLICY own_rows ON vibecraft.accounts FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

CREATE POLICY own_rows ON vibecraft.sessions FOR ALL
    USING (user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high()));

CREATE POLICY staff_only ON vibecraft.verification_tokens FOR ALL
    USING ((SELECT vibecraft.is_service()));


COMMENT ON TABLE vibecraft.accounts IS 'Auth.js OAuth accounts linked to a user.';

COMMENT ON TABLE vibecraft.sessions IS 'Auth.js sessions; daily_maintenance deletes expired ones. Also reachable as user_sessions.';

COMMENT ON TABLE vibecraft.verification_tokens IS 'Auth.js email verification tokens (auth backend only); daily_maintenance deletes expired ones.';

COMMENT ON VIEW vibecraft.user_sessions IS 'Seed name of sessions; auto-updatable, RLS applies.';

-- Privileges.
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.accounts TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.sessions TO vibecraft_authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.user_sessions TO vibecraft_authenticated;
