-- validate_system_integrity: one row per check.
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- validate_system_integrity: one row per check. Each check counts its violations and
-- names up to five example ids, so a DBA can go straight to the rows. The checks read
-- the tables directly, so they also find what constraints would have stopped had they
-- not been bypassed (session_replication_role = replica, NOT VALID, disabled triggers).

CREATE OR REPLACE FUNCTION vibecraft.validate_system_integrity()
RETURNS TABLE (check_name text, severity text, status text, violations bigint, detail jsonb, remediation text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    fk record;
    n bigint;
    examples jsonb;
    total bigint;
    found_detail jsonb;
    keyring text[];
BEGIN
    PERFORM vibecraft.require_staff('validate_system_integrity');

    -- Orphans: every foreign key of every vibecraft table, checked by hand.
    total := 0; found_detail := '{}';
    FOR fk IN
        SELECT c.conrelid::regclass AS child, c.confrelid::regclass AS parent, c.conname,
               (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS child_cols,
               (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS parent_cols,
               EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attname = 'id' AND NOT a.attisdropped) AS has_id
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.connamespace = 'vibecraft'::regnamespace
         ORDER BY 1::text, c.conname
    LOOP
        -- Counted first, examples only where there are orphans: two plain statements,
        -- which Citus can also run over every shard (a subquery in the select list it
        -- cannot).
        EXECUTE format('SELECT count(*) FROM %s c WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)',
            fk.child,
            (SELECT string_agg(format('c.%I IS NOT NULL', col), ' AND ') FROM unnest(fk.child_cols) col),
            fk.parent,
            (SELECT string_agg(format('p.%I = c.%I', fk.parent_cols[i], fk.child_cols[i]), ' AND ')
               FROM generate_subscripts(fk.child_cols, 1) i))
        INTO n;
        IF n > 0 THEN
            EXECUTE format('SELECT jsonb_agg(e.x) FROM (SELECT %s AS x FROM %s c WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s) ORDER BY 1 LIMIT 5) e',
                CASE WHEN fk.has_id THEN 'c.id' ELSE format('c.%I', fk.child_cols[1]) END,
                fk.child,
                (SELECT string_agg(format('c.%I IS NOT NULL', col), ' AND ') FROM unnest(fk.child_cols) col),
                fk.parent,
                (SELECT string_agg(format('p.%I = c.%I', fk.parent_cols[i], fk.child_cols[i]), ' AND ')
                   FROM generate_subscripts(fk.child_cols, 1) i))
            INTO examples;
        END IF;
        IF n > 0 THEN
            total := total + n;
            found_detail := found_detail || jsonb_build_object(
                format('%s.%s -> %s', fk.child, array_to_string(fk.child_cols, ','), fk.parent), examples);
        END IF;
    END LOOP;
    RETURN QUERY SELECT 'orphaned_rows', 'critical', CASE WHEN total = 0 THEN 'ok' ELSE 'failed' END, total,
        found_detail || jsonb_build_object('exempt', 'audit_logs has no foreign keys by design: its rows outlive what they describe'),
        'Delete the orphaned rows or restore their parents; then find how foreign keys were bypassed (session_replication_role = replica, disabled triggers).';

    -- The ledger sums to every balance, and the spent total to the ledger's debits.
    WITH bad AS (SELECT u.id FROM vibecraft.users u
             LEFT JOIN vibecraft.credit_balances c ON c.user_id = u.id
             LEFT JOIN (SELECT l.user_id, sum(l.amount) AS s, coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0), 0) AS spent
                          FROM vibecraft.credit_ledger l GROUP BY l.user_id) l ON l.user_id = u.id
             WHERE coalesce(c.credits, 0) <> coalesce(l.s, 0) OR coalesce(c.credits_spent, 0) <> coalesce(l.spent, 0))
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'ledger_matches_balance', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('user_ids', coalesce(examples, '[]')),
        'Compare vibecraft.credit_ledger with vibecraft.credit_balances for these users; correct with a compensating ledger entry (add_credits or deduct_credits), never by editing rows.';

    WITH bad AS (SELECT c.user_id AS id FROM vibecraft.credit_balances c WHERE c.credits < 0
            UNION SELECT l.user_id FROM vibecraft.credit_ledger l WHERE l.balance_after < 0)
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'negative_balances', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('user_ids', coalesce(examples, '[]')),
        'A balance below zero means the CHECK constraints were bypassed; add credits to bring it to zero and investigate.';

    -- Orders whose status contradicts their payments or their credits (an order's payments
    -- and ledger rows are its user's: ids are unique per user only).
    WITH bad AS (SELECT o.id FROM vibecraft.orders o
             WHERE (o.status = 'completed' AND EXISTS (SELECT 1 FROM vibecraft.payments p WHERE p.order_id = o.id AND p.user_id = o.user_id)
                    AND NOT EXISTS (SELECT 1 FROM vibecraft.payments p WHERE p.order_id = o.id AND p.user_id = o.user_id
                                     AND p.status IN ('succeeded', 'partially_refunded', 'refunded')))
                OR (o.status IN ('failed', 'cancelled') AND EXISTS (SELECT 1 FROM vibecraft.payments p
                                     WHERE p.order_id = o.id AND p.user_id = o.user_id AND p.status = 'succeeded'))
                OR (o.status IN ('failed', 'cancelled') AND (SELECT coalesce(sum(l.amount), 0) FROM vibecraft.credit_ledger l
                                     WHERE l.user_id = o.user_id AND l.reference_type = 'order' AND l.reference_id = o.id) < 0)
                OR (o.status = 'completed' AND o.completed_at IS NULL))
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'orders_match_payments', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('order_ids', coalesce(examples, '[]')),
        'Completed orders need a succeeded payment; failed or cancelled ones need their payment refunded (vibecraft.refund_payment) and their credits returned (vibecraft.refund_order_credits).';

    -- Ciphertexts under a key the keyring no longer holds cannot be decrypted.
    keyring := vibecraft.encryption_key_ids();
    WITH bad AS (SELECT c.id FROM vibecraft.api_configurations c
             WHERE NOT coalesce(vibecraft.encryption_key_id(c.api_key_encrypted) = ANY (keyring), false))
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'ciphertexts_have_their_key', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('api_configuration_ids', coalesce(examples, '[]'), 'keyring', to_jsonb(keyring)),
        'Put the missing key version back into vibecraft.encryption_keys and run vibecraft.rotate_encryption_key(); otherwise these users must save their provider keys again.';

    WITH bad AS (SELECT k.id FROM vibecraft.api_keys k
             WHERE k.is_active AND k.revoked_at IS NULL AND k.expires_at <= now())
    SELECT count(*), (SELECT jsonb_agg(x.id) FROM (SELECT b.id FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'expired_keys_inactive', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('api_key_ids', coalesce(examples, '[]')),
        'Expired keys are already refused by validate_api_key; daily_maintenance marks them inactive.';

    -- Row-level security: on and forced everywhere, with policies, none of them open to all.
    WITH bad AS (SELECT c.oid::regclass::text AS t FROM pg_class c
             WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'p')
               AND NOT (c.relrowsecurity AND c.relforcerowsecurity))
    SELECT count(*), (SELECT jsonb_agg(x.t) FROM (SELECT b.t FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'tables_have_rls', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('tables', coalesce(examples, '[]')),
        'ALTER TABLE ... ENABLE ROW LEVEL SECURITY and FORCE ROW LEVEL SECURITY on these tables.';

    WITH bad AS (SELECT c.oid::regclass::text AS t FROM pg_class c
             WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'p')
               AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
                                  AND NOT (p.polroles @> ARRAY['vibecraft_service'::regrole::oid] AND cardinality(p.polroles) = 1)))
    SELECT count(*), (SELECT jsonb_agg(x.t) FROM (SELECT b.t FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'tables_have_policies', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('tables', coalesce(examples, '[]')),
        'Only the service role can reach these tables; add policies for users if they should.';

    WITH bad AS (SELECT p.polrelid::regclass::text || ': ' || p.polname AS p FROM pg_policy p
              JOIN pg_class c ON c.oid = p.polrelid
             WHERE c.relnamespace = 'vibecraft'::regnamespace AND p.polpermissive AND p.polcmd <> 'r'
               AND (coalesce(pg_get_expr(p.polqual, p.polrelid), 'true') = 'true'
                    AND coalesce(pg_get_expr(p.polwithcheck, p.polrelid), 'true') = 'true')
               AND NOT (p.polroles @> ARRAY['vibecraft_service'::regrole::oid] AND cardinality(p.polroles) = 1))
    SELECT count(*), (SELECT jsonb_agg(x.p) FROM (SELECT b.p FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'no_always_true_policies', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('policies', coalesce(examples, '[]'),
            -- Reading reference data (providers, frameworks, ...) is public on purpose;
            -- listed for review, not counted.
            'public_read', (SELECT jsonb_agg(p.polrelid::regclass::text ORDER BY 1) FROM pg_policy p
                              JOIN pg_class c ON c.oid = p.polrelid
                             WHERE c.relnamespace = 'vibecraft'::regnamespace AND p.polpermissive AND p.polcmd = 'r'
                               AND coalesce(pg_get_expr(p.polqual, p.polrelid), 'true') = 'true')),
        'A permissive write policy that is always true lets every role it applies to write any row; restrict it to an owner or role check.';

    -- SECURITY DEFINER functions (anywhere but the system schemas) must pin search_path.
    WITH bad AS (SELECT p.oid::regprocedure::text AS f FROM pg_proc p
             WHERE p.prosecdef AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
               AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%'))
    SELECT count(*), (SELECT jsonb_agg(x.f) FROM (SELECT b.f FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'definers_pin_search_path', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('functions', coalesce(examples, '[]')),
        'ALTER FUNCTION ... SET search_path = pg_catalog, pg_temp, and qualify every name inside it.';

    -- Write policies say what a written row must look like: an INSERT, UPDATE or ALL policy
    -- without WITH CHECK checks new rows only by its USING expression (or not at all).
    WITH bad AS (SELECT p.polrelid::regclass::text || ': ' || p.polname AS p FROM pg_policy p
              JOIN pg_class c ON c.oid = p.polrelid
             WHERE c.relnamespace = 'vibecraft'::regnamespace AND p.polcmd IN ('a', 'w', '*')
               AND p.polwithcheck IS NULL)
    SELECT count(*), (SELECT jsonb_agg(x.p) FROM (SELECT b.p FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'write_policies_have_check', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('policies', coalesce(examples, '[]')),
        'Give the policy a WITH CHECK (...) that the written row must pass, and one policy per command rather than FOR ALL.';

    -- Only the service role may UPDATE whole tables: every other role gets the columns it
    -- may change (a table-wide UPDATE also lets a role take strong LOCK TABLE modes).
    WITH bad AS (SELECT DISTINCT c.oid::regclass::text || ': ' || pg_get_userbyid(a.grantee) AS g
              FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
               AND a.privilege_type = 'UPDATE' AND a.grantee <> c.relowner
               AND a.grantee <> 'vibecraft_service'::regrole)
    SELECT count(*), (SELECT jsonb_agg(x.g) FROM (SELECT b.g FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'no_table_wide_update', 'critical', CASE WHEN n = 0 THEN 'ok' ELSE 'failed' END, n,
        jsonb_build_object('grants', coalesce(examples, '[]')),
        'REVOKE UPDATE ON the table FROM the role, then GRANT UPDATE (col, ...) on the columns it may change.';

    -- Foreign keys whose columns do not lead any index: deletes of the parent scan the child.
    WITH bad AS (SELECT c.conrelid::regclass::text || '.' || c.conname AS c FROM pg_constraint c
             WHERE c.contype = 'f' AND c.connamespace = 'vibecraft'::regnamespace
               AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey))
    SELECT count(*), (SELECT jsonb_agg(x.c) FROM (SELECT b.c FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'foreign_keys_indexed', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('constraints', coalesce(examples, '[]')),
        'CREATE INDEX CONCURRENTLY on the foreign key columns.';

    WITH bad AS (SELECT c.conrelid::regclass::text || '.' || c.conname AS c FROM pg_constraint c
             WHERE c.connamespace = 'vibecraft'::regnamespace AND NOT c.convalidated)
    SELECT count(*), (SELECT jsonb_agg(x.c) FROM (SELECT b.c FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'constraints_validated', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('constraints', coalesce(examples, '[]')),
        'ALTER TABLE ... VALIDATE CONSTRAINT (it takes only a SHARE UPDATE EXCLUSIVE lock).';

    -- The running totals behind get_user_stats agree with a recount.
    WITH bad AS (SELECT coalesce(t.user_id, h.user_id) AS u
              FROM vibecraft.user_stat_totals t
              FULL JOIN (SELECT user_id, count(*) AS n FROM vibecraft.prompt_history GROUP BY user_id) h ON h.user_id = t.user_id
             WHERE coalesce(t.prompts, 0) <> coalesce(h.n, 0)
            UNION
            SELECT coalesce(t.user_id, a.user_id)
              FROM (SELECT * FROM vibecraft.user_provider_totals WHERE calls <> 0 OR tokens <> 0 OR cost_usd <> 0) t
              FULL JOIN (SELECT user_id, provider, count(*) AS calls, count(*) FILTER (WHERE status_code >= 400) AS errors,
                                sum(tokens_used) AS tokens, sum(cost_usd) AS cost
                           FROM vibecraft.api_usage_logs WHERE user_id IS NOT NULL GROUP BY user_id, provider) a
                ON a.user_id = t.user_id AND a.provider = t.provider
             WHERE (t.calls, t.errors, t.tokens, t.cost_usd) IS DISTINCT FROM (a.calls, a.errors, a.tokens, a.cost))
    SELECT count(*), (SELECT jsonb_agg(x.u) FROM (SELECT b.u FROM bad b ORDER BY 1 LIMIT 5) x)
      INTO n, examples FROM bad;
    RETURN QUERY SELECT 'stat_totals_match', 'warning', CASE WHEN n = 0 THEN 'ok' ELSE 'warning' END, n,
        jsonb_build_object('user_ids', coalesce(examples, '[]')),
        'Run vibecraft.rebuild_stat_totals() (as the service role).';
END
$$;

COMMENT ON FUNCTION vibecraft.validate_system_integrity() IS
    'One row per integrity check (orphans, ledger vs balance, negative balances, orders vs payments, ciphertexts without their key, expired keys, RLS and policies, always-true policies, write policies without WITH CHECK, table-wide UPDATE grants, definers without search_path, unindexed foreign keys, NOT VALID constraints, statistics totals): status ok, warning or failed, the count, example ids and what to do. Admins and the service role only.';

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.validate_system_integrity() TO vibecraft_authenticated, vibecraft_service;
