-- Installing, reinstalling and inspecting vibecraft, as a DBA would.
SET client_min_messages = warning;
-- (Suites share one database; start from none, whatever ran before.)
DROP EXTENSION IF EXISTS vibecraft CASCADE;
CREATE EXTENSION vibecraft CASCADE;

-- The installed extension version is the library's version, built for release.
SELECT e.extversion,
       split_part(vibecraft.version(), ' ', 1) = e.extversion AS library_matches,
       vibecraft.version() LIKE '% (release)' AS release_build
  FROM pg_extension e WHERE e.extname = 'vibecraft';

-- health_check reports what a DBA checks first (the scratch cluster preloads vibecraft
-- and has development secrets configured).
SELECT h->>'extension_installed' = h->>'library_version' AS installed_is_library,
       (h->>'update_available')::boolean AS update_available,
       (h->>'in_shared_preload_libraries')::boolean AS preloaded,
       (h->>'jwt_secret_configured')::boolean AS jwt_secret,
       (h->>'keyring_configured')::boolean AS keyring,
       (h->>'server_version_num')::int / 10000 BETWEEN 15 AND 18 AS supported_server
  FROM vibecraft.health_check() AS h;

-- Secrets are masked for everyone, superusers included.
SHOW vibecraft.jwt_secret;
SELECT setting FROM pg_settings WHERE name = 'vibecraft.encryption_keys';

-- Control file facts: not relocatable, installed into schema vibecraft, superuser-only.
SELECT extrelocatable, extnamespace::regnamespace FROM pg_extension WHERE extname = 'vibecraft';
SELECT name, superuser, trusted, relocatable, schema
  FROM pg_available_extension_versions WHERE name = 'vibecraft';

-- DROP ... CASCADE then CREATE again, in one session.
DROP EXTENSION vibecraft CASCADE;
SELECT count(*) AS vibecraft_functions_left
  FROM pg_proc WHERE proname IN ('version', 'health_check')
   AND pronamespace::regnamespace::text = 'vibecraft';
CREATE EXTENSION vibecraft CASCADE;
SELECT split_part(vibecraft.version(), ' ', 1) = extversion AS reinstalled
  FROM pg_extension WHERE extname = 'vibecraft';

-- The analytics materialized views are readable right after CREATE EXTENSION (the
-- service role reads them; no daily_maintenance has run yet).
SET ROLE vibecraft_service;
SELECT (SELECT count(*) FROM vibecraft.daily_api_usage) AS daily_api_usage_rows,
       (SELECT count(*) FROM vibecraft.framework_usage) AS framework_usage_rows;
RESET ROLE;
