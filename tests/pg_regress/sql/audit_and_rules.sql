-- Native triggers and table rules: updated_at, the audit trail, the order status flow,
-- and idempotent demo data.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;

-- updated_at: kept on UPDATE by vibecraft.set_updated_at(), on every vibecraft table.
SELECT count(*) AS tables_with_updated_at,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM pg_trigger t
                                       WHERE t.tgrelid = c.oid AND t.tgname = 'set_updated_at')) AS with_trigger
  FROM pg_class c
 WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'r'
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'updated_at');

INSERT INTO vibecraft.organizations (id, name, slug, created_at, updated_at)
VALUES ('f1000000-0000-4000-8000-000000000001', 'Clock Co', 'clock-co', '2020-01-01', '2020-01-01');
SELECT updated_at = '2020-01-01' AS insert_keeps_given_value
  FROM vibecraft.organizations WHERE slug = 'clock-co';
BEGIN;
UPDATE vibecraft.organizations SET tier = 'PRO' WHERE slug = 'clock-co';
SELECT updated_at = now() AS update_stamps_now, created_at = '2020-01-01' AS created_at_untouched
  FROM vibecraft.organizations WHERE slug = 'clock-co';
COMMIT;

-- The audit trail on any user table.
CREATE TABLE public.notes (
    id integer PRIMARY KEY,
    body text,
    tags text[],
    details jsonb,
    api_key_encrypted text,
    private_note text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT vibecraft.enable_audit('public.notes', ARRAY['private_note']);
SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.notes'::regclass ORDER BY 1;

INSERT INTO public.notes (id, body, tags, details, api_key_encrypted, private_note)
VALUES (1, 'first "quoted"', '{a,b}', '{"n": 1.5}', 'v1:SECRETCIPHERTEXT', 'diary');
UPDATE public.notes SET body = 'second', private_note = 'still private' WHERE id = 1;
UPDATE public.notes SET private_note = 'only an excluded column changed' WHERE id = 1;
UPDATE public.notes SET body = body WHERE id = 1;
DELETE FROM public.notes WHERE id = 1;
INSERT INTO public.notes (id, body) VALUES (2, 'to be truncated');
TRUNCATE public.notes;

-- (updated_at is left out of the display: it is the time of this run.)
SELECT action, resource_id, changes #- '{after,updated_at}' #- '{before,updated_at}' AS changes,
       coalesce(changes->'after'->>'updated_at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d', action <> 'insert') AS iso_timestamp,
       db_role = current_user AS by_me, transaction_id IS NOT NULL AS has_xid
  FROM vibecraft.audit_logs
 WHERE table_schema = 'public' AND resource_type = 'notes'
 ORDER BY id;

-- Secrets never reach the trail: neither the default secret columns nor excluded ones.
SELECT count(*) AS rows_mentioning_secrets
  FROM vibecraft.audit_logs
 WHERE changes::text ~ '(SECRETCIPHERTEXT|diary|still private|api_key_encrypted|private_note)';

-- A DBA's own constraints and indexes on the trail hold on the fast path (PostgreSQL's
-- single-row insert): a CHECK that an audit row breaks stops the write that made it ...
ALTER TABLE vibecraft.audit_logs ADD CONSTRAINT dba_check CHECK (resource_id <> '6');
\set VERBOSITY terse
INSERT INTO public.notes (id, body) VALUES (6, 'refused by the trail');
\set VERBOSITY default
ALTER TABLE vibecraft.audit_logs DROP CONSTRAINT dba_check;
-- ... and an expression index is kept as an INSERT would keep it.
CREATE INDEX dba_action_idx ON vibecraft.audit_logs ((upper(action)));
INSERT INTO public.notes (id, body) VALUES (7, 'indexed');
SET enable_seqscan = off;
SELECT count(*) AS found_by_index FROM vibecraft.audit_logs WHERE upper(action) = 'INSERT' AND resource_id = '7';
RESET enable_seqscan;
DROP INDEX vibecraft.dba_action_idx;
-- A column the fast path does not know (here the DBA's, with a default) sends rows
-- through the general INSERT path, which fills it.
ALTER TABLE vibecraft.audit_logs ADD COLUMN dba_note text DEFAULT 'general path';
INSERT INTO public.notes (id, body) VALUES (5, 'via the general path');
SELECT action, changes->'after'->>'body' AS body, dba_note FROM vibecraft.audit_logs
 WHERE resource_type = 'notes' AND resource_id = '5';
ALTER TABLE vibecraft.audit_logs DROP COLUMN dba_note;
DELETE FROM public.notes WHERE id IN (5, 7);

-- One row's history, newest first.
SELECT action FROM vibecraft.audit_history('public.notes', '1');

-- Bad calls get clear errors.
SELECT vibecraft.enable_audit('public.notes', ARRAY['no_such_column']);
SELECT vibecraft.enable_audit('vibecraft.audit_logs');
SELECT vibecraft.enable_audit(NULL);
SELECT vibecraft.disable_audit('public.notes');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'public.notes'::regclass;
INSERT INTO public.notes (id) VALUES (3);
SELECT count(*) AS rows_after_disable FROM vibecraft.audit_logs
 WHERE resource_type = 'notes' AND resource_id = '3';

-- vibecraft's own sensitive tables are audited out of the box, without their secrets.
SELECT c.relname
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname = 'vibecraft_audit' AND c.relnamespace = 'vibecraft'::regnamespace
 ORDER BY 1;
SELECT vibecraft.seed_demo_data() = vibecraft.seed_demo_data() AS seeding_twice_changes_nothing;
SELECT count(*) > 0 AS api_key_inserts_audited,
       bool_and(NOT (changes->'after' ? 'key_hash')) AS key_hash_left_out
  FROM vibecraft.audit_logs WHERE resource_type = 'api_keys' AND action = 'insert';

-- Orders: pending -> processing -> completed | failed | cancelled, nothing else.
UPDATE vibecraft.orders SET status = 'processing' WHERE id = 'de000000-0000-4000-8000-000000000003';
UPDATE vibecraft.orders SET status = 'completed' WHERE id = 'de000000-0000-4000-8000-000000000003';
SELECT status, completed_at IS NOT NULL AS completed_at_set
  FROM vibecraft.orders WHERE id = 'de000000-0000-4000-8000-000000000003';
DO $$
BEGIN
    UPDATE vibecraft.orders SET status = 'pending' WHERE id = 'de000000-0000-4000-8000-000000000003';
EXCEPTION WHEN check_violation THEN
    RAISE WARNING 'rejected with SQLSTATE %: %', SQLSTATE, SQLERRM;
END $$;
SELECT status FROM vibecraft.orders WHERE id = 'de000000-0000-4000-8000-000000000003';
SELECT vibecraft.order_status_transition_allowed(f, t) AS allowed, f, t
  FROM (VALUES ('pending', 'processing'), ('pending', 'cancelled'), ('processing', 'failed'),
               ('completed', 'processing'), ('cancelled', 'pending'), ('failed', 'completed')) v(f, t);

-- Refunds can never exceed the amount.
\set VERBOSITY terse
UPDATE vibecraft.payments SET refund_amount = amount + 1 WHERE id = 'df000000-0000-4000-8000-000000000001';

\set VERBOSITY default
DROP TABLE public.notes;
