-- Who may call what. PUBLIC gets nothing; the three vibecraft roles get what they need.
-- (SET ROLE is enough for privilege checks; RLS is tested with real login roles in tests/.)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;

SELECT rolname, rolcanlogin, rolsuper
  FROM pg_roles WHERE rolname LIKE 'vibecraft\_%' ORDER BY rolname;

CREATE ROLE regress_stranger;
CREATE ROLE regress_app IN ROLE vibecraft_authenticated;
CREATE ROLE regress_backend IN ROLE vibecraft_service;

-- A role with no vibecraft grant cannot even see the schema.
SET ROLE regress_stranger;
SELECT vibecraft.version();
RESET ROLE;

-- An authenticated app role can ask the version but not the server's configuration.
SET ROLE regress_app;
SELECT vibecraft.version() IS NOT NULL AS can_call_version;
SELECT vibecraft.health_check();
-- Superuser-only secrets: neither readable nor settable.
-- (The error's wording is PostgreSQL's own and changed in 16: only its SQLSTATE, 42501, is shown.)
\set VERBOSITY sqlstate
SHOW vibecraft.jwt_secret;
\set VERBOSITY default
SET vibecraft.jwt_secret = 'forged';
SELECT set_config('vibecraft.encryption_keys', 'v9:forged', false);
RESET ROLE;

SET ROLE regress_backend;
SELECT (vibecraft.health_check() ? 'server_version') AS service_sees_health;
RESET ROLE;

-- The exact privileges PUBLIC holds on vibecraft functions: none.
SELECT p.proname
  FROM pg_proc p
 WHERE p.pronamespace = 'vibecraft'::regnamespace
   AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1;
SELECT has_schema_privilege('public', 'vibecraft', 'USAGE') AS public_schema_usage;

-- The exact table privileges of each role, in ACL letters (r=SELECT a=INSERT w=UPDATE
-- d=DELETE D=TRUNCATE); column-level UPDATE grants on users/user_profiles follow.
CREATE FUNCTION pg_temp.privs(acl aclitem[], role regrole) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(p, '' ORDER BY p), '-') FROM (
        SELECT DISTINCT CASE a.privilege_type WHEN 'SELECT' THEN 'r' WHEN 'INSERT' THEN 'a' WHEN 'UPDATE' THEN 'w'
                        WHEN 'DELETE' THEN 'd' WHEN 'TRUNCATE' THEN 'D' ELSE a.privilege_type END AS p
          FROM aclexplode(acl) a WHERE a.grantee = $2) s
$$;
SELECT c.relname, pg_temp.privs(c.relacl, 'vibecraft_anon') AS anon,
       pg_temp.privs(c.relacl, 'vibecraft_authenticated') AS authenticated,
       pg_temp.privs(c.relacl, 'vibecraft_service') AS service,
       EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0) AS public
  FROM pg_class c
 WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v', 'm')
 ORDER BY 1;
SELECT attrelid::regclass AS relation, string_agg(attname, ', ' ORDER BY attnum) AS authenticated_may_update
  FROM pg_attribute
 WHERE attrelid IN ('vibecraft.users'::regclass, 'vibecraft.user_profiles'::regclass)
   AND has_column_privilege('vibecraft_authenticated', attrelid, attnum, 'UPDATE')
   AND NOT has_table_privilege('vibecraft_authenticated', attrelid, 'UPDATE')
 GROUP BY 1 ORDER BY 1;

-- Every vibecraft function explains itself in \df+ (a COMMENT).
SELECT p.oid::regprocedure AS undocumented
  FROM pg_proc p
 WHERE p.pronamespace = 'vibecraft'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
 ORDER BY 1;

-- And every table and view in \d+.
SELECT c.oid::regclass AS undocumented_relation
  FROM pg_class c
 WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v', 'm')
   AND obj_description(c.oid, 'pg_class') IS NULL
 ORDER BY 1;

-- Every SECURITY DEFINER function pins its search_path.
SELECT p.oid::regprocedure AS unpinned_definer
  FROM pg_proc p
 WHERE p.pronamespace = 'vibecraft'::regnamespace AND p.prosecdef
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
 ORDER BY 1;

DROP ROLE regress_stranger, regress_app, regress_backend;
