-- The write model (docs/authorization.md): what a signed-in user may change directly,
-- column by column, and what only a function or the service role changes. Every attack
-- an outside review made through plain PostgREST-style writes is tried here as a real
-- non-superuser role, through the canonical tables and the seed-name views, next to the
-- legitimate version of the same thing.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS vibecraft CASCADE;
CREATE EXTENSION vibecraft CASCADE;
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;
\set ada '''d1000000-0000-4000-8000-000000000001'''
\set max '''d1000000-0000-4000-8000-000000000002'''
\set mia '''d1000000-0000-4000-8000-000000000003'''
\set erin '''d1000000-0000-4000-8000-000000000004'''
\set org_demo '''d0000000-0000-4000-8000-000000000001'''
\set org_ent '''d0000000-0000-4000-8000-000000000002'''
\set studio '''d2000000-0000-4000-8000-000000000001'''
\set podcast '''d2000000-0000-4000-8000-000000000002'''
-- Signing in the PostgREST way: the role is an application login role in
-- vibecraft_authenticated, the verified claims come from the (trusted) authenticator.
CREATE ROLE regress_wm_app LOGIN IN ROLE vibecraft_authenticated;
CREATE ROLE regress_wm_anon LOGIN IN ROLE vibecraft_anon;
CREATE ROLE regress_wm_backend LOGIN IN ROLE vibecraft_service;
SET vibecraft.trust_request_claims = on;
CREATE FUNCTION pg_temp.sign_in(uid uuid, email text DEFAULT NULL) RETURNS boolean LANGUAGE sql AS $$
    SELECT set_config('request.jwt.claims',
                      json_build_object('sub', uid, 'role', 'authenticated', 'email', email)::text, false) IS NOT NULL
$$;
\set VERBOSITY terse

-- 1. Service API keys are made by create_api_key, with documented scopes the caller holds.
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:mia) AS mia;
INSERT INTO vibecraft.api_keys (user_id, organization_id, name, key_prefix, key_hash, scopes)
VALUES (:mia, :org_ent, 'forged', 'vc_live_x', sha256('x'), '{*,admin}');
SELECT vibecraft.create_api_key('wide', ARRAY['*', 'admin']);
SELECT vibecraft.create_api_key('odd', ARRAY['billing:everything']);
SELECT vibecraft.create_api_key('elsewhere', ARRAY['prompts:read'], NULL, :org_ent);
SELECT vibecraft.create_api_key('ci', ARRAY['prompts:read']) LIKE 'vc_live_%' AS created;
UPDATE vibecraft.api_keys SET name = 'ci (renamed)' WHERE name = 'ci';
SELECT name, scopes, organization_id IS NULL AS no_org FROM vibecraft.api_keys;
-- ... and revoked, expired and limited only by vibecraft's functions and the service role.
UPDATE vibecraft.api_keys SET revoked_at = NULL, is_active = true;
UPDATE vibecraft.api_keys SET expires_at = NULL;
UPDATE vibecraft.api_keys SET rate_limit_per_minute = NULL;
UPDATE vibecraft.api_keys SET scopes = '{*}';
DELETE FROM vibecraft.api_keys;
RESET ROLE;

-- 2. A project editor edits content, but cannot take the project over, open it to the
-- world, move it, delete it or remove its owner.
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:max) AS max_editor_of_studio;
UPDATE vibecraft.projects SET description = 'edited by its editor' WHERE id = :studio;
UPDATE vibecraft.projects SET user_id = :max WHERE id = :studio;
UPDATE vibecraft.projects SET organization_id = :org_ent WHERE id = :studio;
UPDATE vibecraft.projects SET is_public = true WHERE id = :studio;
UPDATE vibecraft.projects SET deleted_at = now() WHERE id = :studio;
DELETE FROM vibecraft.projects WHERE id = :studio;
DELETE FROM vibecraft.project_members WHERE project_id = :studio AND role = 'owner';
INSERT INTO vibecraft.project_members (project_id, user_id, role) VALUES (:studio, :erin, 'admin');
INSERT INTO vibecraft.collaborators (project_id, user_id, role) VALUES (:studio, :erin, 'admin');
SELECT name, description, user_id = :ada AS owned_by_ada, is_public, deleted_at IS NULL AS live
  FROM vibecraft.projects WHERE id = :studio;
-- The owner renames it and makes Max an admin; an admin still cannot remove, demote or
-- replace the owner.
SELECT pg_temp.sign_in(:ada) AS ada_owner;
UPDATE vibecraft.projects SET name = 'Prompt Studio (renamed)' WHERE id = :studio;
UPDATE vibecraft.project_members SET role = 'admin' WHERE project_id = :studio AND user_id = :max;
SELECT pg_temp.sign_in(:max) AS max_admin_of_studio;
DELETE FROM vibecraft.project_members WHERE project_id = :studio AND user_id = :ada;
UPDATE vibecraft.project_members SET role = 'viewer' WHERE project_id = :studio AND user_id = :ada;
UPDATE vibecraft.collaborators SET role = 'owner' WHERE project_id = :studio AND user_id = :mia;
UPDATE vibecraft.projects SET is_public = true WHERE id = :studio;
SELECT m.role, m.user_id = :ada AS is_ada FROM vibecraft.project_members m
 WHERE m.project_id = :studio ORDER BY vibecraft.project_role_rank(m.role) DESC, m.role;
RESET ROLE;

-- 3. Nobody joins a project without saying yes: an admin invites, the invitee accepts.
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:ada) AS ada;
INSERT INTO vibecraft.project_invitations (project_id, user_id, role) VALUES (:studio, :erin, 'editor');
INSERT INTO vibecraft.project_invitations (project_id, user_id, role) VALUES (:studio, :erin, 'owner');
SELECT pg_temp.sign_in(:erin) AS erin;
SELECT role, invited_by = :ada AS invited_by_ada FROM vibecraft.project_invitations;
SELECT vibecraft.accept_project_invitation(:podcast);
SELECT vibecraft.accept_project_invitation(:studio) AS joined_as;
SELECT vibecraft.has_project_role(:studio, 'editor') AS erin_edits_studio,
       (SELECT count(*) FROM vibecraft.project_invitations WHERE user_id = :erin) AS open_invitations;
-- An admin cannot invite itself (to keep its role past a demotion), and an invitation
-- counts only while its inviter may still invite.
SELECT pg_temp.sign_in(:max) AS max_admin;
INSERT INTO vibecraft.project_invitations (project_id, user_id, role) VALUES (:studio, :max, 'admin');
INSERT INTO vibecraft.project_invitations (project_id, user_id, role)
VALUES (:studio, 'd1000000-0000-4000-8000-000000000005', 'admin')
ON CONFLICT (project_id, user_id) DO NOTHING;
DELETE FROM vibecraft.project_invitations WHERE user_id = 'd1000000-0000-4000-8000-000000000005';
INSERT INTO vibecraft.project_invitations (project_id, user_id, role) VALUES (:studio, 'd1000000-0000-4000-8000-000000000005', 'admin');
SELECT pg_temp.sign_in(:ada) AS ada;
UPDATE vibecraft.project_members SET role = 'viewer' WHERE project_id = :studio AND user_id = :max;
SELECT pg_temp.sign_in('d1000000-0000-4000-8000-000000000005') AS sam;
SELECT vibecraft.accept_project_invitation(:studio);
RESET ROLE;

-- 4. An organization ADMIN manages its members' roles and status, its organization's
-- name and settings; never a platform admin, never profiles, never billing.
SET ROLE regress_wm_backend;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS backend;
UPDATE vibecraft.users SET role = 'ADMIN' WHERE id = :max;
UPDATE vibecraft.users SET subscription_plan = 'pro' WHERE id = :mia;
RESET ROLE;
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:max) AS max_org_admin;
UPDATE vibecraft.users SET email = 'max@evil.example.com', email_verified = now() WHERE id = :ada;
UPDATE vibecraft.users SET full_name = 'Not Ada' WHERE id = :ada;
UPDATE vibecraft.users SET bio = 'written by my org admin' WHERE id = :mia;
UPDATE vibecraft.users SET role = 'MANAGER' WHERE id = :mia;
UPDATE vibecraft.organizations SET tier = 'ENTERPRISE' WHERE id = :org_demo;
UPDATE vibecraft.organizations SET limits = '{"projects": 1000000}', feature_flags = '{"all": true}' WHERE id = :org_demo;
UPDATE vibecraft.organizations SET name = 'Demo Org (renamed by its admin)' WHERE id = :org_demo;
UPDATE vibecraft.organizations SET deleted_at = now() WHERE id = :org_demo;
RESET ROLE;
SELECT name, tier, limits, feature_flags FROM vibecraft.organizations WHERE id = :org_demo;
SELECT id = :ada AS ada, email, full_name, role, subscription_plan FROM vibecraft.users
 WHERE id IN (:ada, :mia) ORDER BY id;
UPDATE vibecraft.users SET role = 'MEMBER' WHERE id = :mia;

-- 5. Users edit their profile, not their address, role, plan or credits.
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:mia) AS mia;
UPDATE vibecraft.users SET email = 'mia@elsewhere.example.com' WHERE id = :mia;
UPDATE vibecraft.user_profiles SET email = 'mia@elsewhere.example.com' WHERE id = :mia;
UPDATE vibecraft.users SET role = 'ADMIN' WHERE id = :mia;
UPDATE vibecraft.users SET subscription_plan = 'enterprise' WHERE id = :mia;
UPDATE vibecraft.credit_balances SET credits = 1000000 WHERE user_id = :mia;
UPDATE vibecraft.user_profiles SET bio = 'I like podcasts' WHERE id = :mia;
-- Signing up takes only the address the token vouches for.
SELECT pg_temp.sign_in('f1000000-0000-4000-8000-000000000001', 'newcomer@example.com') AS newcomer;
INSERT INTO vibecraft.users (id, email) VALUES ('f1000000-0000-4000-8000-000000000001', 'someone.else@example.com');
INSERT INTO vibecraft.users (id, email, full_name) VALUES ('f1000000-0000-4000-8000-000000000001', 'Newcomer@example.com', 'New');
RESET ROLE;
SELECT email, bio, role FROM vibecraft.users WHERE id = :mia;
-- The auth backend changes an address; the old verification does not carry over.
UPDATE vibecraft.users SET email_verified = now() WHERE id = :mia;
SET ROLE regress_wm_backend;
UPDATE vibecraft.users SET email = 'mia.new@demo-org.com' WHERE id = :mia;
RESET ROLE;
SELECT email, email_verified IS NULL AS unverified FROM vibecraft.users WHERE id = :mia;

-- 6. The auth backend's tables are the service role's: no linked identities or sessions
-- of one's own making, no tokens to read; one may end one's own sessions.
SET ROLE regress_wm_backend;
INSERT INTO vibecraft.accounts (user_id, type, provider, provider_account_id, refresh_token)
VALUES (:mia, 'oauth', 'github', 'mia-gh', 'gh-refresh-secret');
INSERT INTO vibecraft.sessions (user_id, session_token, expires) VALUES (:mia, 'mia-session-token', now() + interval '1 day');
RESET ROLE;
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:mia) AS mia;
INSERT INTO vibecraft.accounts (user_id, type, provider, provider_account_id) VALUES (:mia, 'oauth', 'google', 'ada-google-id');
INSERT INTO vibecraft.sessions (user_id, session_token, expires) VALUES (:mia, 'chosen', now() + interval '50 years');
INSERT INTO vibecraft.user_sessions (user_id, expires) VALUES (:mia, now() + interval '50 years');
UPDATE vibecraft.sessions SET expires = now() + interval '50 years';
SELECT refresh_token FROM vibecraft.accounts;
SELECT session_token FROM vibecraft.sessions;
SELECT count(*) AS sessions_seen_through_user_sessions FROM vibecraft.user_sessions;
SELECT provider, provider_account_id FROM vibecraft.accounts;
DELETE FROM vibecraft.sessions WHERE user_id = :mia;
RESET ROLE;
SELECT count(*) AS mia_sessions_left FROM vibecraft.sessions WHERE user_id = :mia;

-- 7. Rows never move between tenants, and are never written in another user's name.
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:mia) AS mia;
INSERT INTO vibecraft.prompt_history (user_id, project_id, user_input) VALUES (:mia, :podcast, 'mine') RETURNING user_input;
UPDATE vibecraft.prompt_history SET project_id = :studio WHERE user_input = 'mine';
UPDATE vibecraft.project_prompts SET project_id = :studio WHERE user_input = 'mine';
UPDATE vibecraft.prompt_history SET user_id = :ada WHERE user_input = 'mine';
INSERT INTO vibecraft.project_assets (project_id, user_id, file_name, file_path, mime_type, file_size)
VALUES (:podcast, :ada, 'x.png', 'd1000000-0000-4000-8000-000000000001/x.png', 'image/png', 10);
INSERT INTO vibecraft.audio_recordings (project_id, user_id, file_name, file_path, mime_type, file_size, asset_type)
VALUES (:podcast, :ada, 'x.mp3', 'd1000000-0000-4000-8000-000000000001/x.mp3', 'audio/mpeg', 10, 'audio');
INSERT INTO vibecraft.project_assets (project_id, user_id, file_name, file_path, mime_type, file_size)
VALUES (:podcast, :mia, 'cover.png', 'd1000000-0000-4000-8000-000000000003/cover.png', 'image/png', 10) RETURNING file_name;
UPDATE vibecraft.project_assets SET user_id = :ada WHERE file_name = 'cover.png';
UPDATE vibecraft.canvases SET organization_id = :org_ent;
INSERT INTO vibecraft.executions (organization_id, agent_id, user_id)
SELECT :org_demo, a.id, :mia FROM vibecraft.agents a WHERE a.organization_id = :org_demo LIMIT 1 RETURNING status;
RESET ROLE;
-- (an agent of another organization, by id)
SELECT id AS ent_agent FROM vibecraft.agents WHERE organization_id = :org_ent LIMIT 1 \gset
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:mia) AS mia;
INSERT INTO vibecraft.executions (organization_id, agent_id, user_id) VALUES (:org_demo, :'ent_agent', :mia);
INSERT INTO vibecraft.api_usage_logs (user_id, project_id, provider, prompt_tokens) VALUES (:mia, :studio, 'openai', 1);
INSERT INTO vibecraft.api_usage (user_id, provider) VALUES (:mia, 'openai');
INSERT INTO vibecraft.audit_logs (organization_id, action) VALUES (:org_ent, 'forged');
-- A MANAGER edits its organization's agents; a member does not.
UPDATE vibecraft.agents SET name = 'renamed by a member';
SELECT pg_temp.sign_in(:max) AS max_manager;
UPDATE vibecraft.agents SET description = 'tuned by a manager' WHERE organization_id = :org_demo;
UPDATE vibecraft.agents SET organization_id = :org_ent;
RESET ROLE;
SELECT count(*) FILTER (WHERE description = 'tuned by a manager') AS tuned,
       count(*) FILTER (WHERE name = 'renamed by a member') AS renamed
  FROM vibecraft.agents WHERE organization_id = :org_demo;

-- 8. Workflow columns change only through the function that owns them.
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:mia) AS mia;
INSERT INTO vibecraft.orders (user_id, order_type, credits_used) VALUES (:mia, 'ai_generation', 0);
UPDATE vibecraft.orders SET status = 'completed';
INSERT INTO vibecraft.downloads (user_id, file_name, file_url) VALUES (:mia, 'free.zip', 'https://example.com/free.zip');
UPDATE vibecraft.downloads SET expires_at = NULL, is_active = true, download_count = 0;
UPDATE vibecraft.api_configurations SET is_validated = true;
UPDATE vibecraft.api_configurations SET is_active = false WHERE provider = 'openai' RETURNING provider, is_active;
SELECT vibecraft.create_order(:mia, 'ai_generation', 1) IS NOT NULL AS ordered;
RESET ROLE;
INSERT INTO vibecraft.downloads (user_id, file_name, file_url) VALUES (:erin, 'erin.zip', 'https://example.com/erin.zip')
RETURNING id AS other_download \gset
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:mia) AS mia;
SELECT vibecraft.record_download(:'other_download');
SELECT vibecraft.record_download('00000000-0000-4000-8000-00000000dead');
RESET ROLE;
-- Anyone may send feedback, and nobody but staff answers it.
SET ROLE regress_wm_anon;
INSERT INTO vibecraft.feedback (message, status, admin_response) VALUES ('great', 'resolved', 'Thanks! -- the admin');
INSERT INTO vibecraft.feedback (user_id, message) VALUES (:mia, 'as someone else');
INSERT INTO vibecraft.feedback (message, rating) VALUES ('anonymous and fine', 5);
RESET ROLE;
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:mia) AS mia;
UPDATE vibecraft.feedback SET status = 'resolved';
SELECT pg_temp.sign_in(:ada) AS ada_platform_admin;
UPDATE vibecraft.feedback SET status = 'resolved', admin_response = 'Thank you' WHERE message = 'anonymous and fine';
RESET ROLE;
SELECT message, status, admin_response FROM vibecraft.feedback WHERE message IN ('great', 'anonymous and fine');

-- 9. Soft delete: whoever may delete a row sets deleted_at (through PostgREST a PATCH with
-- a filter); the row is hidden afterwards, and only staff brings it back.
SET ROLE regress_wm_app;
SELECT pg_temp.sign_in(:max) AS max;
UPDATE vibecraft.projects SET deleted_at = now() WHERE id = :podcast;
SELECT pg_temp.sign_in(:mia) AS mia_owner;
UPDATE vibecraft.projects SET deleted_at = '2000-01-01' WHERE id = :podcast RETURNING deleted_at = now() AS stamped_now;
SELECT count(*) AS podcast_visible FROM vibecraft.projects WHERE id = :podcast;
UPDATE vibecraft.projects SET deleted_at = NULL WHERE id = :podcast;
-- A deleted row is frozen (a blind UPDATE included), and its project grants no role.
UPDATE vibecraft.projects SET description = 'changed after deletion';
SELECT vibecraft.has_project_role(:podcast, 'viewer') AS role_in_deleted_project;
INSERT INTO vibecraft.project_knowledge (project_id, user_id, title) VALUES (:podcast, :mia, 'into a deleted project');
UPDATE vibecraft.users SET deleted_at = now() WHERE id = :mia;
SELECT count(*) AS mia_visible_to_herself FROM vibecraft.users WHERE id = :mia;
RESET ROLE;
SELECT id = :mia AS mia, deleted_at IS NOT NULL AS soft_deleted FROM vibecraft.users WHERE id IN (:mia, :max) ORDER BY id;
SELECT description IS DISTINCT FROM 'changed after deletion' AS deleted_project_unchanged FROM vibecraft.projects WHERE id = :podcast;

-- A platform admin's API key is not an admin unless it carries the admin scope: signed in
-- with the demo key (prompts:read, prompts:write), Ada gets no admin rights.
SET ROLE regress_wm_app;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS no_claims;
BEGIN;
SELECT vibecraft.authenticate_api_key('vc_test_demo0001_' || repeat('a', 43)) = :ada AS signed_in_as_ada;
SELECT vibecraft.is_admin() AS admin_by_key;
SELECT vibecraft.create_api_key('escalated', ARRAY['*', 'admin']);
ROLLBACK;
RESET ROLE;

-- 10. The integrity checks agree: every write policy has a WITH CHECK, and no role but the
-- service role holds a table-wide UPDATE.
SELECT check_name, status, violations FROM vibecraft.validate_system_integrity()
 WHERE check_name IN ('write_policies_have_check', 'no_table_wide_update') ORDER BY 1;
GRANT UPDATE ON vibecraft.projects TO regress_wm_app;
SELECT check_name, status, violations, detail FROM vibecraft.validate_system_integrity()
 WHERE check_name = 'no_table_wide_update';
REVOKE UPDATE ON vibecraft.projects FROM regress_wm_app;

\set VERBOSITY default
DROP EXTENSION vibecraft CASCADE;
DROP ROLE regress_wm_app;
DROP ROLE regress_wm_anon;
DROP ROLE regress_wm_backend;
