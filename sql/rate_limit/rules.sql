-- Rate limits (native, in shared memory: src/rate_limit.rs).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- The functions are native (src/rate_limit.rs); their documentation lives here.
COMMENT ON FUNCTION vibecraft.check_rate_limit(uuid, text, integer, interval) IS
    'Admit (true, counted) or refuse (false, not counted) one call of action_type by a user. Guarantee: in any interval of length time_window at most limit_count calls are admitted per (user, action), under any concurrency. Admitted calls stay counted when the caller''s transaction rolls back. The limit is the action''s rule in vibecraft.rate_limit_rules (for the user''s plan, else for every plan); only the service role may pass limit_count and time_window of its own. A user for itself; the service role and admins for anyone. A subject holds at most 16 live limits (53400 beyond). Needs vibecraft in shared_preload_libraries.';

COMMENT ON TABLE vibecraft.rate_limit_rules IS
    'The limits check_rate_limit holds signed-in callers to: action, plan (NULL: every plan), limit_count per time_window. anon_insert:<table> rules limit anonymous inserts into a table, all anonymous callers together. The service role manages them.';

COMMENT ON FUNCTION vibecraft.check_api_key_rate_limit(uuid) IS
    'The same limiter for an API key, with the key''s rate_limit_per_minute (no limit set: always true).';

COMMENT ON FUNCTION vibecraft.check_provider_rate_limit(text, uuid) IS
    'The same limiter for a user''s calls to an AI provider, with the provider''s max_requests_per_minute and max_requests_per_day; admitted only when both have room.';

COMMENT ON FUNCTION vibecraft.compact_rate_limits() IS
    'Free the rate-limit slots whose counts have aged out; returns how many are still in use. daily_maintenance calls it.';

COMMENT ON FUNCTION vibecraft.rate_limit_state() IS
    'The shared rate-limit table: slots in total and in use, calls admitted and refused since the server started.';

-- The rules are the service role's (its service_all policy); signed-in users may read
-- them, to know their limits. The functions read them with the owner's rights.
CREATE POLICY signed_in_read ON vibecraft.rate_limit_rules FOR SELECT TO vibecraft_authenticated USING (true);

-- Privileges.
GRANT SELECT, INSERT, UPDATE, DELETE ON vibecraft.rate_limit_rules TO vibecraft_service;
GRANT SELECT ON vibecraft.rate_limit_rules TO vibecraft_authenticated;
GRANT EXECUTE ON FUNCTION vibecraft.check_rate_limit(uuid, text, integer, interval) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.check_api_key_rate_limit(uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.check_provider_rate_limit(text, uuid) TO vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.compact_rate_limits() TO vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.rate_limit_state() TO vibecraft_service;
