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
SHOW vibecraft.jwt_secret;
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

DROP ROLE regress_stranger, regress_app, regress_backend;
