-- Roles and privileges. Runs last, once every vibecraft object exists.
--
-- Three NOLOGIN group roles, created when absent (roles are cluster-wide, so they
-- outlive DROP EXTENSION and are shared by every database that installs vibecraft).
-- Applications grant them to their own login roles, e.g. on Supabase:
--   GRANT vibecraft_anon TO anon;
--   GRANT vibecraft_authenticated TO authenticated;
--   GRANT vibecraft_service TO service_role;
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['vibecraft_anon', 'vibecraft_authenticated', 'vibecraft_service'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

COMMENT ON SCHEMA vibecraft IS
    'vibecraft: schema, business rules and security helpers of an AI-product backend';

-- PUBLIC gets nothing: every function is granted to the vibecraft roles by name.
REVOKE ALL ON SCHEMA vibecraft FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA vibecraft FROM PUBLIC;
GRANT USAGE ON SCHEMA vibecraft TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;

GRANT EXECUTE ON FUNCTION vibecraft.version() TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.health_check() TO vibecraft_service;

COMMENT ON FUNCTION vibecraft.version() IS
    'The vibecraft library version and build profile, e.g. ''0.1.0 (release)''.';
COMMENT ON FUNCTION vibecraft.health_check() IS
    'What a DBA checks first: installed vs available extension version, server version, whether the JWT secret and keyring are configured (never their values), and whether vibecraft is in shared_preload_libraries.';
