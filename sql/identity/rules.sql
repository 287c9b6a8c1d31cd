-- Who is calling: session identity, sign-in, and the helpers every policy calls.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Identity and row-level-security helpers (the Rust side is src/identity/).
-- PL/pgSQL rather than SQL functions: policies call them once per statement, and
-- PL/pgSQL keeps its query plans for the session where a non-inlined SQL function
-- would plan its query again on every call.
-- Helpers that read tables are SECURITY DEFINER: they run as the extension owner, so
-- they see past RLS (no policy recursion) and answer only about the caller, whose
-- identity lives in backend memory (current_user_id) or is its role (is_service).

CREATE OR REPLACE FUNCTION vibecraft.is_admin()
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid uuid := vibecraft.current_user_id();
    claims jsonb;
BEGIN
    IF uid IS NULL OR NOT EXISTS (
        SELECT 1 FROM vibecraft.users u
         WHERE u.id = uid AND u.system_role = 'admin' AND u.status = 'ACTIVE' AND u.deleted_at IS NULL) THEN
        RETURN false;
    END IF;
    -- A session signed in with a service API key acts as an admin only when the key
    -- carries the admin scope: a key holds its scopes, not all of its creator's rights.
    -- (Asked only of admins: policies call this on every statement.)
    claims := coalesce(vibecraft.jwt_claims(), '{}');
    RETURN NOT (claims ? 'api_key_id') OR coalesce(claims -> 'scopes', '[]') ?| ARRAY['admin', '*'];
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.current_org_id()
RETURNS uuid
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN coalesce(vibecraft.current_org_claim(),
                    (SELECT u.organization_id FROM vibecraft.users u
                      WHERE u.id = vibecraft.current_user_id() AND u.deleted_at IS NULL));
END
$$;

-- Role ranks: owner > admin > editor > viewer; ADMIN > MANAGER > MEMBER.
CREATE OR REPLACE FUNCTION vibecraft.project_role_rank(role text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE lower(role) WHEN 'owner' THEN 4 WHEN 'admin' THEN 3 WHEN 'editor' THEN 2 WHEN 'viewer' THEN 1
        ELSE vibecraft.raise_invalid_parameter('project role', role, 'owner, admin, editor or viewer') END;
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.org_role_rank(role text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE upper(role) WHEN 'ADMIN' THEN 3 WHEN 'MANAGER' THEN 2 WHEN 'MEMBER' THEN 1
        ELSE vibecraft.raise_invalid_parameter('organization role', role, 'ADMIN, MANAGER or MEMBER') END;
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.raise_invalid_parameter(what text, given text, allowed text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'vibecraft: % must be %, not %', what, allowed, coalesce(quote_literal(given), 'NULL')
        USING ERRCODE = '22023';
END
$$;

-- Projects the caller holds at least min_role in (owning a project ranks as owner).
-- Admins and the service role get every project. An array, so that policies can use
-- it as `project_id = ANY (...)`, which an index serves.
CREATE OR REPLACE FUNCTION vibecraft.project_ids_with_role(min_role text DEFAULT 'viewer')
RETURNS uuid[]
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid uuid := vibecraft.current_user_id();
    rank integer := vibecraft.project_role_rank(min_role);
BEGIN
    IF vibecraft.is_service() OR vibecraft.is_admin() THEN
        RETURN (SELECT coalesce(array_agg(p.id), '{}') FROM vibecraft.projects p);
    END IF;
    IF uid IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN (SELECT coalesce(array_agg(DISTINCT x.id), '{}') FROM (
                SELECT p.id FROM vibecraft.projects p WHERE p.user_id = uid AND p.deleted_at IS NULL
                UNION ALL
                SELECT m.project_id FROM vibecraft.project_members m
                  JOIN vibecraft.projects p ON p.id = m.project_id AND p.deleted_at IS NULL
                 WHERE m.user_id = uid AND vibecraft.project_role_rank(m.role) >= rank) x);
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.has_project_role(project_id uuid, min_role text DEFAULT 'viewer')
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN has_project_role.project_id = ANY (vibecraft.project_ids_with_role(min_role));
END
$$;

-- Organizations the caller holds at least min_role in (its users row), all of them
-- for admins and the service role.
CREATE OR REPLACE FUNCTION vibecraft.org_ids_with_role(min_role text DEFAULT 'MEMBER')
RETURNS uuid[]
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid uuid := vibecraft.current_user_id();
    rank integer := vibecraft.org_role_rank(min_role);
BEGIN
    IF vibecraft.is_service() OR vibecraft.is_admin() THEN
        RETURN (SELECT coalesce(array_agg(o.id), '{}') FROM vibecraft.organizations o);
    END IF;
    RETURN (SELECT coalesce(array_agg(u.organization_id), '{}') FROM vibecraft.users u
             WHERE u.id = uid AND u.organization_id IS NOT NULL AND u.deleted_at IS NULL
               AND u.status = 'ACTIVE' AND vibecraft.org_role_rank(u.role) >= rank);
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.has_org_role(org_id uuid, min_role text DEFAULT 'member')
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN org_id = ANY (vibecraft.org_ids_with_role(min_role));
END
$$;

-- Owner isolation for big tables: policies say
--   user_id BETWEEN (SELECT vibecraft.owner_scope_low()) AND (SELECT vibecraft.owner_scope_high())
-- For a user both bounds are its own id (an index equality scan); for admins and the
-- service role the full range; with no one signed in an empty range. One btree range
-- condition, unlike `user_id = uid OR is_admin()`, which no index can serve.
CREATE OR REPLACE FUNCTION vibecraft.owner_scope_low()
RETURNS uuid
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF vibecraft.is_service() OR vibecraft.is_admin() THEN
        RETURN '00000000-0000-0000-0000-000000000000'::uuid;
    END IF;
    RETURN coalesce(vibecraft.current_user_id(), 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid);
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.owner_scope_high()
RETURNS uuid
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF vibecraft.is_service() OR vibecraft.is_admin() THEN
        RETURN 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid;
    END IF;
    RETURN coalesce(vibecraft.current_user_id(), '00000000-0000-0000-0000-000000000000'::uuid);
END
$$;

-- For the write rules' triggers: a statement that writes with the service role's rights,
-- because the caller is the service role or because vibecraft's own privileged code (a
-- SECURITY DEFINER function, run as the extension owner) is writing on its behalf.
CREATE OR REPLACE FUNCTION vibecraft.writes_as_service()
RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT vibecraft.is_service() OR pg_catalog.pg_has_role(current_user, 'vibecraft_service', 'MEMBER')
$$;

-- The one refusal of the write rules: 42501, naming the table and the rule.
CREATE OR REPLACE FUNCTION vibecraft.refuse_write(tbl text, rule text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'vibecraft.%: %', tbl, rule USING ERRCODE = '42501',
        HINT = 'docs/authorization.md lists what each role may write directly and which function does the rest.';
END
$$;

-- For functions meant for staff: admins and the service role.
CREATE OR REPLACE FUNCTION vibecraft.require_staff(fn text)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT vibecraft.is_service() AND NOT vibecraft.is_admin() THEN
        RAISE EXCEPTION 'vibecraft.%: admins and the service role only', fn USING ERRCODE = '42501';
    END IF;
END
$$;

COMMENT ON FUNCTION vibecraft.writes_as_service() IS 'Whether the current statement writes with the service role''s rights (the service role, or vibecraft''s own SECURITY DEFINER code); the write rules'' triggers let it through.';
COMMENT ON FUNCTION vibecraft.refuse_write(text, text) IS 'Raise SQLSTATE 42501 for a write a rule forbids, naming the table and the rule.';
COMMENT ON FUNCTION vibecraft.require_staff(text) IS 'Raises 42501 unless the caller is an admin or the service role.';
COMMENT ON FUNCTION vibecraft.require_may_act_for(text, uuid) IS 'Raises 42501 unless the caller may act for this user (itself, the service role, admins); 22023 for NULL.';
COMMENT ON FUNCTION vibecraft.is_admin() IS 'Whether the signed-in user is an active platform admin (users.system_role = ''admin''); signed in with an API key, only if the key carries the admin (or *) scope.';
COMMENT ON FUNCTION vibecraft.current_org_id() IS 'The caller''s organization: the token''s organization claim, else the user''s own organization.';
COMMENT ON FUNCTION vibecraft.project_role_rank(text) IS 'Rank of a project role: owner 4 > admin 3 > editor 2 > viewer 1; 22023 for anything else.';
COMMENT ON FUNCTION vibecraft.org_role_rank(text) IS 'Rank of an organization role: ADMIN 3 > MANAGER 2 > MEMBER 1 (any case); 22023 for anything else.';
COMMENT ON FUNCTION vibecraft.raise_invalid_parameter(text, text, text) IS 'Raise SQLSTATE 22023 naming the parameter, the allowed values and the value given.';
COMMENT ON FUNCTION vibecraft.project_ids_with_role(text) IS 'Projects in which the caller holds at least min_role (owning ranks as owner); all projects for admins and the service role. For policies: project_id = ANY ((SELECT vibecraft.project_ids_with_role(''viewer''))::uuid[]).';
COMMENT ON FUNCTION vibecraft.has_project_role(uuid, text) IS 'Whether the caller holds at least min_role (owner > admin > editor > viewer) in the project.';
COMMENT ON FUNCTION vibecraft.org_ids_with_role(text) IS 'Organizations in which the caller holds at least min_role (ADMIN > MANAGER > MEMBER); all for admins and the service role.';
COMMENT ON FUNCTION vibecraft.has_org_role(uuid, text) IS 'Whether the caller holds at least min_role (ADMIN > MANAGER > MEMBER) in the organization.';
COMMENT ON FUNCTION vibecraft.owner_scope_low() IS 'Lower bound of the user ids the caller may see as owner: its own id; everything for admins and the service role; nothing when signed out.';
COMMENT ON FUNCTION vibecraft.owner_scope_high() IS 'Upper bound of the user ids the caller may see as owner (see owner_scope_low).';

-- The native identity functions (src/identity/).
COMMENT ON FUNCTION vibecraft.authenticate(text) IS
    'Verify an HS256 JWT signed with vibecraft.jwt_secret (exp and sub required; exp and nbf checked; any other alg refused) and act as its subject until the end of the current transaction; returns the user id. SQLSTATE 28000 says why a token was refused.';

COMMENT ON FUNCTION vibecraft.sign_out() IS 'Forget the identity established in this transaction; true when there was one.';
COMMENT ON FUNCTION vibecraft.current_user_id() IS
    'The calling user: the identity established in this transaction, else the PostgREST claims where a superuser trusts them for this role, else NULL. What every policy uses.';

COMMENT ON FUNCTION vibecraft.jwt_claims() IS 'The verified claims of the caller''s token (or trusted PostgREST claims), else NULL.';
COMMENT ON FUNCTION vibecraft.current_org_claim() IS 'The organization named by the caller''s token (organization_id or org_id, also under app_metadata), else NULL.';
COMMENT ON FUNCTION vibecraft.is_service() IS
    'Whether the caller acts as the backend: its role (login or SET ROLE) has the privileges of vibecraft_service, or its token''s role is service_role.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.authenticate(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.sign_out() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.current_user_id() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.current_org_id() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.current_org_claim() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.jwt_claims() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.is_admin() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.is_service() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.has_project_role(uuid, text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.has_org_role(uuid, text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.project_ids_with_role(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.org_ids_with_role(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.owner_scope_low() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.owner_scope_high() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.project_role_rank(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.org_role_rank(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.raise_invalid_parameter(text, text, text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.writes_as_service(), vibecraft.refuse_write(text, text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
