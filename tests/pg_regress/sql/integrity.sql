-- validate_system_integrity: every check passes on the demo data; then this suite breaks
-- the data on purpose, one way per check, and each check names what was broken.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;
SELECT check_name, severity, status, violations FROM vibecraft.validate_system_integrity();

-- An orphan, written with foreign keys bypassed the way a careless restore does.
SET session_replication_role = replica;
INSERT INTO vibecraft.downloads (id, user_id, file_name, file_url)
VALUES ('e0000000-0000-4000-8000-0000000000aa', '99999999-0000-4000-8000-000000000000', 'ghost.jpg', 'https://cdn.example.com/ghost.jpg');
RESET session_replication_role;
-- A ledger row edited by hand (Mia's signup bonus).
UPDATE vibecraft.credit_ledger SET amount = amount + 1 WHERE id = 'd3000000-0000-4000-8000-000000000003';
-- A negative balance (only possible once its CHECK constraint is gone): Erin.
ALTER TABLE vibecraft.credit_balances DROP CONSTRAINT credit_balances_credits_check;
UPDATE vibecraft.credit_balances SET credits = -5 WHERE user_id = 'd1000000-0000-4000-8000-000000000004';
-- A completed order whose payment failed.
UPDATE vibecraft.payments SET status = 'failed' WHERE id = 'df000000-0000-4000-8000-000000000001';
-- A provider key under a key version the keyring does not hold.
UPDATE vibecraft.api_configurations SET api_key_encrypted = 'vc1:v0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
 WHERE user_id = 'd1000000-0000-4000-8000-000000000003';
-- An expired API key still marked active.
UPDATE vibecraft.api_keys SET expires_at = now() - interval '1 day' WHERE key_prefix = 'vc_test_demo0001';
-- RLS switched off on one table, an always-true write policy on another.
ALTER TABLE vibecraft.feedback_tags DISABLE ROW LEVEL SECURITY;
CREATE POLICY open_insert ON vibecraft.saved_searches FOR INSERT WITH CHECK (true);
-- A SECURITY DEFINER function without a pinned search_path.
CREATE FUNCTION public.regress_leaky_definer() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
-- An unindexed foreign key and a constraint added NOT VALID.
ALTER TABLE vibecraft.feedback_tags ADD COLUMN reviewer_id uuid REFERENCES vibecraft.users (id);
ALTER TABLE vibecraft.feedback_tags ADD CONSTRAINT regress_not_checked CHECK (reviewer_id IS NULL) NOT VALID;
-- A statistics total that drifted from its history.
UPDATE vibecraft.user_stat_totals SET prompts = prompts + 7 WHERE user_id = 'd1000000-0000-4000-8000-000000000002';

SELECT check_name, status, violations, detail - 'exempt' - 'keyring' - 'public_read' AS examples
  FROM vibecraft.validate_system_integrity();

-- What the remediation texts say to do, for the statistics totals: rebuild them.
SELECT vibecraft.rebuild_stat_totals() > 0 AS rebuilt;
SELECT status FROM vibecraft.validate_system_integrity() WHERE check_name = 'stat_totals_match';

-- Only admins and the service role may run it.
CREATE ROLE regress_integrity_user IN ROLE vibecraft_authenticated;
SET ROLE regress_integrity_user;
\set VERBOSITY terse
SELECT count(*) FROM vibecraft.validate_system_integrity();
\set VERBOSITY default
RESET ROLE;
DROP ROLE regress_integrity_user;
DROP FUNCTION public.regress_leaky_definer();

-- Put everything back for the suites that follow in this database.
DROP EXTENSION vibecraft CASCADE;
CREATE EXTENSION vibecraft;
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded_again;
