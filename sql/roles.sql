-- The three roles vibecraft's grants and policies name. Runs first.
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

