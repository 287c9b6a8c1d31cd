-- The benchmark database: realistic volume plus one table per trigger variant.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS moddatetime;
\i bench/peers/triggers.sql

-- Trigger benchmarks: the same 10,000-row table, once per variant, with room in every page
-- (fillfactor 50) so that every UPDATE is a HOT update from the first: in full pages the
-- first updates move rows to new pages and the tables' states (and the rows' ratios, up to
-- 1.35x and 0.78x of the floor in two runs of the same code) drift with when autovacuum
-- happens to visit each table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['plain', 'updated_native', 'updated_moddatetime', 'updated_plpgsql',
                             'audit_native', 'audit_plpgsql'] LOOP
        EXECUTE format('DROP TABLE IF EXISTS public.%I', 'bench_' || t);
        EXECUTE format('CREATE TABLE public.%I (id integer PRIMARY KEY, counter integer NOT NULL DEFAULT 0,
                          note text NOT NULL DEFAULT ''a note of a realistic length for a row'',
                          owner_id uuid NOT NULL DEFAULT gen_random_uuid(), metadata jsonb NOT NULL DEFAULT ''{"k": 1}'',
                          updated_at timestamptz NOT NULL DEFAULT now()) WITH (fillfactor = 50)', 'bench_' || t);
        EXECUTE format('INSERT INTO public.%I (id) SELECT g FROM generate_series(1, 10000) g', 'bench_' || t);
    END LOOP;
END $$;
CREATE TRIGGER t BEFORE UPDATE ON public.bench_updated_native FOR EACH ROW EXECUTE FUNCTION vibecraft.set_updated_at();
CREATE TRIGGER t BEFORE UPDATE ON public.bench_updated_moddatetime FOR EACH ROW EXECUTE FUNCTION moddatetime(updated_at);
CREATE TRIGGER t BEFORE UPDATE ON public.bench_updated_plpgsql FOR EACH ROW EXECUTE FUNCTION public.peer_set_updated_at();
SELECT vibecraft.enable_audit('public.bench_audit_native');
CREATE TRIGGER t AFTER INSERT OR UPDATE OR DELETE ON public.bench_audit_plpgsql FOR EACH ROW EXECUTE FUNCTION public.peer_audit_trigger();
VACUUM ANALYZE;

-- Realistic volume: 1,000 users with 100 prompts each (100,000 rows).
INSERT INTO vibecraft.users (id, email)
SELECT ('b0000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'bench' || g || '@example.com'
  FROM generate_series(1, 1000) g;
INSERT INTO vibecraft.prompt_history (user_id, user_input, tokens_used, provider, model)
SELECT ('b0000000-0000-4000-8000-' || lpad((g % 1000 + 1)::text, 12, '0'))::uuid,
       'benchmark prompt number ' || g, g % 700, 'openai', 'gpt-4o-mini'
  FROM generate_series(1, 100000) g;

-- A non-superuser login role that reaches vibecraft the way PostgREST does: its
-- requests carry claims that a superuser told vibecraft to trust for this role.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vibecraft_bench_user') THEN
        CREATE ROLE vibecraft_bench_user LOGIN IN ROLE vibecraft_authenticated;
    END IF;
END $$;
ALTER ROLE vibecraft_bench_user SET vibecraft.trust_request_claims = on;
ANALYZE;

-- 1,000 API keys, one per bench user, with known secrets vc_live_<00000001>_kkk...
\i bench/peers/secrets.sql
INSERT INTO vibecraft.api_keys (user_id, name, key_prefix, key_hash, scopes)
SELECT ('b0000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'bench key ' || g,
       'vc_live_' || lpad(g::text, 8, '0'),
       sha256(convert_to('vc_live_' || lpad(g::text, 8, '0') || '_' || repeat('k', 43), 'UTF8')), '{bench}'
  FROM generate_series(1, 1000) g;
ANALYZE vibecraft.api_keys;

-- One envelope of each kind, for the decryption measurements.
CREATE TABLE public.bench_sealed (kind text PRIMARY KEY, ciphertext text NOT NULL);
INSERT INTO public.bench_sealed VALUES
    ('native', vibecraft.encrypt_api_key('sk-proj-0123456789abcdefghijklmnopqrstuvwxyz', 'bench-user-openai')),
    ('pgcrypto', public.pgp_sym_encrypt('sk-proj-0123456789abcdefghijklmnopqrstuvwxyz', 'a-passphrase-from-VITE_ENCRYPTION_KEY')::text);

-- 100,000 ledger rows: each bench user got 1,000,000,000 credits (enough for every
-- deduction of a run on one hot user) and spent 99 of them.
\i bench/peers/credits.sql
INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after, reason)
SELECT ('b0000000-0000-4000-8000-' || lpad(u::text, 12, '0'))::uuid,
       CASE WHEN s = 0 THEN 1000000000 ELSE -1 END, 1000000000 - s, CASE WHEN s = 0 THEN 'grant' ELSE 'spend' END
  FROM generate_series(1, 1000) u, generate_series(0, 99) s;
UPDATE vibecraft.credit_balances b SET credits = 1000000000 - 99, credits_spent = 99
  FROM vibecraft.users u WHERE u.id = b.user_id AND u.email LIKE 'bench%@example.com';
-- The peer's tables get the same users and history.
INSERT INTO public.peer_user_profiles (id, email, credits)
SELECT u.id, u.email, b.credits FROM vibecraft.users u JOIN vibecraft.credit_balances b ON b.user_id = u.id
 WHERE u.email LIKE 'bench%@example.com';
INSERT INTO public.peer_credit_transactions (user_id, amount, balance_after, reason, created_at)
SELECT user_id, amount, balance_after, reason, created_at FROM vibecraft.credit_ledger;
ANALYZE vibecraft.credit_ledger, vibecraft.users, vibecraft.credit_balances, public.peer_user_profiles, public.peer_credit_transactions;

-- Rate limits at limit 1,000 per hour, each of 100 bench users already at its limit,
-- for vibecraft (shared memory) and for the peer (events in a table), so that both
-- run in their steady state: every call counts a full window.
\i bench/peers/rate_limit.sql
INSERT INTO public.peer_rate_events (user_id, action_type, created_at)
SELECT ('b0000000-0000-4000-8000-' || lpad(u::text, 12, '0'))::uuid, 'bench1000', now() - interval '1 minute'
  FROM generate_series(1, 100) u, generate_series(1, 1000) n;
ANALYZE public.peer_rate_events;
SELECT count(*) FILTER (WHERE vibecraft.check_rate_limit(('b0000000-0000-4000-8000-' || lpad(u::text, 12, '0'))::uuid,
                                                         'bench1000', 1000, '1 hour'))
  FROM generate_series(1, 100) u, generate_series(1, 1000) n;

-- Statistics: bench user 1 has 100 ledger rows (above) and gets 100 prompts; a heavy
-- user gets 100,000 ledger rows and 10,000 prompts. Rows written directly, so the
-- running totals are rebuilt afterwards, as after any bulk load.
\i bench/peers/stats.sql
INSERT INTO vibecraft.users (id, email) VALUES ('b1000000-0000-4000-8000-000000000001', 'heavy@example.com');
UPDATE vibecraft.credit_balances SET credits = 1000000 - 99999 WHERE user_id = 'b1000000-0000-4000-8000-000000000001';
INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after, reason)
SELECT 'b1000000-0000-4000-8000-000000000001', CASE WHEN s = 0 THEN 1000000 ELSE -1 END, 1000000 - s, 'bench'
  FROM generate_series(0, 99999) s;
INSERT INTO vibecraft.prompt_history (user_id, user_input, provider, tokens_used)
SELECT u, 'bench prompt ' || g, 'openai', g % 500
  FROM (VALUES ('b0000000-0000-4000-8000-000000000001'::uuid, 100), ('b1000000-0000-4000-8000-000000000001'::uuid, 10000)) v(u, n),
       LATERAL generate_series(1, v.n) g;
SELECT vibecraft.rebuild_stat_totals();
ANALYZE vibecraft.credit_ledger, vibecraft.prompt_history, vibecraft.users;
