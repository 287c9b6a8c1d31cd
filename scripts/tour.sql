-- The tour `make run` prints: each statement is shown with its real result.
\pset footer off
SELECT vibecraft.version();
SELECT key, value FROM jsonb_each(vibecraft.health_check()) ORDER BY key;
SELECT count(*) AS functions FROM pg_proc WHERE pronamespace = 'vibecraft'::regnamespace;
