-- Who is calling: session identity, sign-in, and the helpers every policy calls.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Identity and row-level-security helpers (the Rust side is src/identity/).
-- The helpers policies call per row are native (src/identity/policy.rs): is_admin,
-- project_ids_with_role, org_ids_with_role, owner_scope_low and owner_scope_high read
-- the rows they need once per statement, with the tables' owner's rights (so past RLS,
-- without policy recursion), and answer only about the caller, whose identity lives in
-- backend memory (current_user_id) or is its role (is_service). Policies call them
-- directly, without `(SELECT ...)`: Citus refuses subqueries in policies.
-- The others are PL/pgSQL, which keeps its query plans for the session where a
-- non-inlined SQL function would plan its query again on every call; those that read
-- tables are SECURITY DEFINER.

CREATE OR REPLACE FUNCTION vibecraft.is_admin()
RETURNS boolean
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'vibecraft_is_admin';

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
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'vibecraft_project_ids_with_role';

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
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'vibecraft_org_ids_with_role';

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
--   user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high()
-- For a user both bounds are its own id (an index equality scan); for admins and the
-- service role the full range; with no one signed in an empty range. One btree range
-- condition, unlike `user_id = uid OR is_admin()`, which no index can serve.
CREATE OR REPLACE FUNCTION vibecraft.owner_scope_low()
RETURNS uuid
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'vibecraft_owner_scope_low';

CREATE OR REPLACE FUNCTION vibecraft.owner_scope_high()
RETURNS uuid
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'vibecraft_owner_scope_high';

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
COMMENT ON FUNCTION vibecraft.project_ids_with_role(text) IS 'Projects in which the caller holds at least min_role (owning ranks as owner); all projects for admins and the service role. For policies: project_id = ANY (vibecraft.project_ids_with_role(''viewer'')).';
COMMENT ON FUNCTION vibecraft.has_project_role(uuid, text) IS 'Whether the caller holds at least min_role (owner > admin > editor > viewer) in the project.';
COMMENT ON FUNCTION vibecraft.org_ids_with_role(text) IS 'Organizations in which the caller holds at least min_role (ADMIN > MANAGER > MEMBER); all for admins and the service role.';
COMMENT ON FUNCTION vibecraft.has_org_role(uuid, text) IS 'Whether the caller holds at least min_role (ADMIN > MANAGER > MEMBER) in the organization.';
COMMENT ON FUNCTION vibecraft.owner_scope_low() IS 'Lower bound of the user ids the caller may see as owner: its own id; everything for admins and the service role; nothing when signed out.';
COMMENT ON FUNCTION vibecraft.owner_scope_high() IS 'Upper bound of the user ids the caller may see as owner (see owner_scope_low).';

-- The native identity functions (src/identity/).
COMMENT ON FUNCTION vibecraft.authenticate(text) IS
    'Verify an HS256 JWT signed with vibecraft.jwt_secret (exp and sub required; exp and nbf checked; any other alg refused) and act as its subject until the end of the current transaction; returns the user id. SQLSTATE 28000 says why a token was refused.';

COMMENT ON FUNCTION vibecraft.postgrest_pre_request() IS
    'PostgREST''s db-pre-request function: where a superuser trusts the request claims (vibecraft.trust_request_claims), signs the request''s user in from them for the transaction, as authenticate() does; on Citus that reaches the workers (docs/scale-out.md). Otherwise does nothing.';

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
GRANT EXECUTE ON FUNCTION vibecraft.postgrest_pre_request() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
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
