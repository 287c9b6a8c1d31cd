-- The DBA manual's recipe for a table of your own (docs/dba.md, section 4), verbatim
-- between the two markers, then what it promises: updated_at stamped, RLS by vibecraft's
-- helpers, an audit trail without the secret or excluded columns, realtime triggers.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;
\set member '''d1000000-0000-4000-8000-000000000003'''
\set startup '''d1000000-0000-4000-8000-000000000005'''

-- >>> docs/dba.md, section 4
CREATE TABLE public.webhooks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    target_url text NOT NULL,
    secret text NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON public.webhooks (user_id);

-- updated_at, stamped by the database whoever writes (a native moddatetime).
CREATE TRIGGER webhooks_updated_at BEFORE UPDATE ON public.webhooks
    FOR EACH ROW EXECUTE FUNCTION vibecraft.set_updated_at();

-- Row-level security with vibecraft's helpers: each user sees and writes its own webhooks.
ALTER TABLE public.webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.webhooks FORCE ROW LEVEL SECURITY;
CREATE POLICY webhooks_own ON public.webhooks
    USING (user_id = (SELECT vibecraft.current_user_id()) OR (SELECT vibecraft.is_service()))
    WITH CHECK (user_id = (SELECT vibecraft.current_user_id()) OR (SELECT vibecraft.is_service()));
GRANT SELECT, INSERT, UPDATE, DELETE ON public.webhooks TO vibecraft_authenticated, vibecraft_service;

-- Every change into vibecraft.audit_logs. Column "secret" is always left out because of its
-- name (SELECT vibecraft.secret_column_names()), target_url because we say so: URLs may
-- carry credentials.
SELECT vibecraft.enable_audit('public.webhooks', excluded_columns => ARRAY['target_url']);

-- Every committed change as a NOTIFY on channel 'realtime:public.webhooks'.
SELECT vibecraft.enable_realtime('public.webhooks');
-- <<< docs/dba.md, section 4

-- An application role signing in the PostgREST way: the authenticator is trusted to
-- pass on the verified claims. (Not a superuser and not the owner: RLS applies.)
CREATE ROLE regress_webhooks_app IN ROLE vibecraft_authenticated;
SET vibecraft.trust_request_claims = on;
SET ROLE regress_webhooks_app;
SELECT set_config('request.jwt.claims', json_build_object('sub', :member, 'role', 'authenticated')::text, false) IS NOT NULL AS signed_in;
INSERT INTO public.webhooks (user_id, target_url, secret)
VALUES (:member, 'https://hooks.example.com/u:p@member', 'whsec_member_1');
-- Not for someone else: the policy's WITH CHECK refuses it.
\set VERBOSITY terse
INSERT INTO public.webhooks (user_id, target_url, secret) VALUES (:startup, 'https://evil.example.com', 'x');
\set VERBOSITY default
SELECT updated_at AS stamped_before FROM public.webhooks \gset
SELECT pg_sleep(0.01);
UPDATE public.webhooks SET is_active = false;
SELECT updated_at > :'stamped_before' AS updated_at_moved, is_active FROM public.webhooks;
-- Another user sees none of it and changes nothing.
SELECT set_config('request.jwt.claims', json_build_object('sub', :startup, 'role', 'authenticated')::text, false) IS NOT NULL AS signed_in_as_other;
SELECT count(*) AS visible_to_other FROM public.webhooks;
UPDATE public.webhooks SET is_active = true;
RESET ROLE;
RESET request.jwt.claims;
RESET vibecraft.trust_request_claims;
SELECT is_active AS still_inactive FROM public.webhooks;

-- The trail: an insert and an update by the member, never the secret or the URL.
SELECT action, user_id = :member AS by_member,
       changes #- '{after,updated_at}' #- '{before,updated_at}' #- '{after,id}' AS changes
  FROM vibecraft.audit_logs
 WHERE table_schema = 'public' AND resource_type = 'webhooks'
 ORDER BY id;
SELECT count(*) AS rows_mentioning_secrets
  FROM vibecraft.audit_logs
 WHERE resource_type = 'webhooks' AND changes::text ~ '(whsec_|hooks\.example|target_url|"secret")';

-- Triggers in place: updated_at, audit, realtime.
SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.webhooks'::regclass AND NOT tgisinternal ORDER BY tgname;

DROP TABLE public.webhooks;
DROP ROLE regress_webhooks_app;
