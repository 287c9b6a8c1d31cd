-- Scale-out: where each table goes on a Citus cluster, and what in today's schema
-- stands in the way (docs/scale-out.md). Nothing here distributes anything: these
-- functions only read the catalog, so a DBA can ask them on any server, and the
-- distribution step, when it is built, reads its plan from scale_out_plan().
-- Re-runnable: functions, grants and comments, written so that every upgrade runs this
-- file again (make upgrade-scripts).

-- The plan, one row per table: a reference table (copied to every node), a table
-- distributed by a tenant column and co-located with the other tables of its group, or a
-- table that stays on the coordinator.
CREATE OR REPLACE FUNCTION vibecraft.scale_out_plan()
RETURNS TABLE (table_name text, placement text, distribution_column text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t, p, c FROM (VALUES
        -- small, read by every query that joins them, written by staff
        ('ai_providers', 'reference', NULL), ('feedback_categories', 'reference', NULL),
        ('organizations', 'reference', NULL), ('prompt_frameworks', 'reference', NULL),
        ('rate_limit_rules', 'reference', NULL), ('storage_buckets', 'reference', NULL),
        ('system_settings', 'reference', NULL),
        -- referenced from every group and read by the policy helpers on every node
        ('project_members', 'reference', NULL), ('projects', 'reference', NULL), ('users', 'reference', NULL),
        -- found by a value that is unique across all tenants (a key's hash, an OAuth
        -- account), or public to every tenant (templates): read on any node, written rarely
        ('accounts', 'reference', NULL), ('api_keys', 'reference', NULL), ('prompt_templates', 'reference', NULL),
        -- a user's own data: a credit change or an order is a one-shard transaction
        ('api_configurations', 'by user', 'user_id'), ('api_usage_logs', 'by user', 'user_id'),
        ('credit_balances', 'by user', 'user_id'), ('credit_ledger', 'by user', 'user_id'),
        ('downloads', 'by user', 'user_id'), ('orders', 'by user', 'user_id'),
        ('payments', 'by user', 'user_id'), ('prompt_history', 'by user', 'user_id'),
        ('saved_searches', 'by user', 'user_id'), ('user_activity', 'by user', 'user_id'), ('user_preferences', 'by user', 'user_id'),
        ('user_provider_totals', 'by user', 'user_id'), ('user_stat_totals', 'by user', 'user_id'),
        -- a project's content, read by its members
        ('project_assets', 'by project', 'project_id'), ('project_components', 'by project', 'project_id'),
        ('project_invitations', 'by project', 'project_id'), ('project_knowledge', 'by project', 'project_id'),
        ('project_settings', 'by project', 'project_id'),
        -- a sign-in session is found by its token on every request (Auth.js): by the token
        ('sessions', 'by session', 'session_token'),
        -- feedback, anonymous or not, with its tags: by the feedback's own id
        ('feedback', 'by feedback', 'id'), ('feedback_tags', 'by feedback', 'feedback_id'),
        -- ValueCanvas: an organization's agents and their work
        ('agents', 'by organization', 'organization_id'), ('canvases', 'by organization', 'organization_id'),
        ('executions', 'by organization', 'organization_id'), ('models', 'by organization', 'organization_id'),
        -- written by triggers and maintenance, read by admins
        ('admin_logs', 'coordinator', NULL), ('admin_logs_archive', 'coordinator', NULL),
        ('audit_logs', 'coordinator', NULL), ('audit_logs_archive', 'coordinator', NULL),
        ('error_logs', 'coordinator', NULL), ('feedback_analytics', 'coordinator', NULL),
        ('performance_metrics', 'coordinator', NULL),
        ('verification_tokens', 'coordinator', NULL)
    ) AS plan (t, p, c)
$$;

COMMENT ON FUNCTION vibecraft.scale_out_plan() IS
    'Where each vibecraft table goes on a Citus cluster: reference (copied to every node), by user / by project / by organization / by session / by feedback (distributed by that column, co-located with its group), or coordinator (stays on the coordinator). The plan only; docs/scale-out.md explains it, scale_out_blockers() lists what the schema must still change for it.';

-- What Citus would refuse, or what would go wrong, if the plan were applied to this
-- database's schema today. Empty once the schema is ready.
CREATE OR REPLACE FUNCTION vibecraft.scale_out_blockers()
RETURNS TABLE (kind text, table_name text, object text, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH plan AS (
        SELECT p.table_name, p.placement, p.distribution_column, c.oid AS relid,
               p.placement LIKE 'by %' AS distributed
          FROM vibecraft.scale_out_plan() p
          JOIN pg_catalog.pg_class c ON c.relname OPERATOR(pg_catalog.=) p.table_name
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                                        AND n.nspname OPERATOR(pg_catalog.=) 'vibecraft'
    )
    -- A table the plan does not place (a new table needs a decision).
    SELECT 'table not in the plan', c.relname::text, NULL::text,
           'add it to vibecraft.scale_out_plan()'
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) 'vibecraft' AND c.relkind IN ('r', 'p')
       AND NOT EXISTS (SELECT 1 FROM plan WHERE plan.relid OPERATOR(pg_catalog.=) c.oid)
    UNION ALL
    -- Every row of a distributed table needs a value of its distribution column.
    SELECT 'nullable distribution column', p.table_name, p.distribution_column,
           'rows without a ' || p.distribution_column || ' have no shard'
      FROM plan p LEFT JOIN pg_catalog.pg_attribute a
             ON a.attrelid OPERATOR(pg_catalog.=) p.relid AND a.attname OPERATOR(pg_catalog.=) p.distribution_column
            AND NOT a.attisdropped
     WHERE p.distributed AND a.attnotnull IS DISTINCT FROM true
    UNION ALL
    -- Citus enforces uniqueness per shard only, so it refuses a primary key or unique
    -- index of a distributed table without the distribution column.
    SELECT 'unique without the distribution column', p.table_name, i.indexrelid::pg_catalog.regclass::text,
           pg_catalog.pg_get_indexdef(i.indexrelid)
      FROM plan p JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) p.relid AND i.indisunique
     WHERE p.distributed
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid OPERATOR(pg_catalog.=) i.indrelid
                          AND a.attname OPERATOR(pg_catalog.=) p.distribution_column
                          AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey::pg_catalog.int2[]))
    UNION ALL
    -- Foreign keys Citus allows: between reference tables, from a distributed table to a
    -- reference table, and within a co-location group on the distribution column.
    SELECT 'foreign key Citus refuses', f.table_name, con.conname::text,
           pg_catalog.pg_get_constraintdef(con.oid) || ': ' ||
           CASE WHEN f.placement OPERATOR(pg_catalog.=) 'reference' THEN 'a reference table may reference only reference tables'
                WHEN f.placement OPERATOR(pg_catalog.=) 'coordinator' THEN 'a table that stays on the coordinator may not reference a Citus table (it would become a Citus local table, which an extension''s table cannot)'
                WHEN t.placement OPERATOR(pg_catalog.=) 'coordinator' THEN 'a distributed table may not reference a table on the coordinator'
                WHEN f.placement OPERATOR(pg_catalog.<>) t.placement THEN 'the two tables are in different co-location groups'
                ELSE 'within a co-location group the key must include the distribution column on both sides'
           END
      FROM pg_catalog.pg_constraint con
      JOIN plan f ON f.relid OPERATOR(pg_catalog.=) con.conrelid
      JOIN plan t ON t.relid OPERATOR(pg_catalog.=) con.confrelid
     WHERE con.contype OPERATOR(pg_catalog.=) 'f'
       AND NOT (f.placement OPERATOR(pg_catalog.=) 'reference' AND t.placement OPERATOR(pg_catalog.=) 'reference')
       AND NOT (f.placement OPERATOR(pg_catalog.=) 'coordinator' AND t.placement OPERATOR(pg_catalog.=) 'coordinator')
       AND NOT (f.distributed AND t.placement OPERATOR(pg_catalog.=) 'reference')
       AND NOT (f.distributed AND f.placement OPERATOR(pg_catalog.=) t.placement
                AND EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest(con.conkey), pg_catalog.unnest(con.confkey)) k (from_col, to_col)
                              JOIN pg_catalog.pg_attribute fa ON fa.attrelid OPERATOR(pg_catalog.=) con.conrelid
                                   AND fa.attnum OPERATOR(pg_catalog.=) k.from_col
                                   AND fa.attname OPERATOR(pg_catalog.=) f.distribution_column
                              JOIN pg_catalog.pg_attribute ta ON ta.attrelid OPERATOR(pg_catalog.=) con.confrelid
                                   AND ta.attnum OPERATOR(pg_catalog.=) k.to_col
                                   AND ta.attname OPERATOR(pg_catalog.=) t.distribution_column))
    UNION ALL
    -- A row trigger that acts after the change (writes elsewhere) fires on every copy of
    -- a reference table, on every node, and cannot write a Citus table from there.
    -- vibecraft's own know where they run: the audit trigger records a change once, in the
    -- node's own audit_logs, under the table's own name (src/triggers/audit.rs); the owner's
    -- membership and the credit balance are written into the node's own copy of their
    -- table (citus_local_shard below).
    SELECT 'after-trigger on a reference table', p.table_name, tg.tgname::text,
           'runs ' || tg.tgfoid::pg_catalog.regproc::text || ' on every placement: it would act once per node, and cannot write a distributed or reference table from a shard'
      FROM plan p JOIN pg_catalog.pg_trigger tg ON tg.tgrelid OPERATOR(pg_catalog.=) p.relid AND NOT tg.tgisinternal
     WHERE p.placement OPERATOR(pg_catalog.=) 'reference'
       AND (tg.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 2) OPERATOR(pg_catalog.=) 0  -- not BEFORE
       AND (tg.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 64) OPERATOR(pg_catalog.=) 0 -- not INSTEAD OF
       AND tg.tgfoid OPERATOR(pg_catalog.<>) ALL (ARRAY['vibecraft.audit_trigger()'::pg_catalog.regprocedure,
                                                         'vibecraft.add_project_owner()'::pg_catalog.regprocedure,
                                                         'vibecraft.open_credit_balance()'::pg_catalog.regprocedure]::pg_catalog.oid[])
    ORDER BY 1, 2, 3
$$;

COMMENT ON FUNCTION vibecraft.scale_out_blockers() IS
    'What in this database''s schema stands in the way of vibecraft.scale_out_plan() on a Citus cluster: tables the plan does not place, nullable distribution columns, primary keys and unique indexes without the distribution column, foreign keys Citus refuses, after-triggers on reference tables (other than the audit trail''s). Reads the catalog only. Empty once the schema is ready.';

-- On a Citus node: the name of shard `shard` of `tbl` when this node holds a copy of it,
-- else NULL (also for a NULL shard). What the two lookups below end with. (PL/pgSQL:
-- its body names Citus' catalogs, which a server without Citus lacks.)
CREATE OR REPLACE FUNCTION vibecraft.citus_shard_here(tbl regclass, shard bigint)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT c.relname::text OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) shard::text
              FROM pg_catalog.pg_class c
             WHERE c.oid OPERATOR(pg_catalog.=) tbl
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement p
                            WHERE p.shardid OPERATOR(pg_catalog.=) shard
                              AND p.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)));
END
$$;

-- On a Citus node: the name of this node's copy of the shard of `tbl` that holds `key`
-- (a reference table's one shard when key is NULL), or NULL when this node holds none.
-- A trigger on a reference table fires on every node's copy and may not run a
-- distributed query from there; it writes the node's own copy of its target instead
-- (add_project_owner, open_credit_balance). Only called where Citus is loaded.
CREATE OR REPLACE FUNCTION vibecraft.citus_local_shard(tbl regclass, key uuid DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shard bigint;
BEGIN
    IF key IS NULL THEN
        SELECT s.shardid INTO shard FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid OPERATOR(pg_catalog.=) tbl;
    ELSE
        shard := pg_catalog.get_shard_id_for_distribution_column(tbl, key);
    END IF;
    RETURN vibecraft.citus_shard_here(tbl, shard);
END
$$;

-- On a Citus node: the name of this node's shard of `tbl` that is co-located with the
-- shard `shard_name` (a shard's table name, `prompt_history_102345`), or NULL. For a
-- statement trigger on a shard that has no row to name a key by (TRUNCATE).
CREATE OR REPLACE FUNCTION vibecraft.citus_colocated_shard(shard_name text, tbl regclass)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shard bigint;
BEGIN
    SELECT t.shardid INTO shard
      FROM pg_catalog.pg_dist_shard s
      JOIN pg_catalog.pg_dist_shard t ON t.logicalrelid OPERATOR(pg_catalog.=) tbl
                                     AND t.shardminvalue OPERATOR(pg_catalog.=) s.shardminvalue
     WHERE s.shardid OPERATOR(pg_catalog.=) pg_catalog.substring(shard_name FROM '_([0-9]+)$')::bigint;
    RETURN vibecraft.citus_shard_here(tbl, shard);
END
$$;

-- Where each table is now: its place in the plan and, on a Citus coordinator, what Citus
-- made of it. (Citus' own citus_tables view leaves out tables that belong to an
-- extension, so it never lists vibecraft's.)
CREATE OR REPLACE FUNCTION vibecraft.scale_out_status()
RETURNS TABLE (table_name text, placement text, citus_table_type text, distribution_column text,
               colocation_id integer, shard_count bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus') THEN
        RETURN QUERY SELECT p.table_name, p.placement, NULL::text, NULL::text, NULL::integer, NULL::bigint
                       FROM vibecraft.scale_out_plan() p ORDER BY 1;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT p.table_name, p.placement,
           CASE WHEN d.logicalrelid IS NULL THEN 'not a Citus table'
                WHEN d.partmethod OPERATOR(pg_catalog.=) 'h' THEN 'distributed'
                WHEN d.repmodel OPERATOR(pg_catalog.=) 't' THEN 'reference'
                ELSE 'local' END,
           pg_catalog.column_to_column_name(d.logicalrelid, d.partkey),
           d.colocationid,
           (SELECT pg_catalog.count(*) FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid OPERATOR(pg_catalog.=) d.logicalrelid)
      FROM vibecraft.scale_out_plan() p
      LEFT JOIN pg_catalog.pg_dist_partition d
             ON d.logicalrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('vibecraft.' OPERATOR(pg_catalog.||) p.table_name)
     ORDER BY 1;
END
$$;

-- Apply the plan on a Citus coordinator whose workers are added (citus_add_node): every
-- reference table copied to every node, every distributed table sharded and co-located
-- with its group, rows already there moved into the shards. Re-runnable: tables already
-- distributed stay as they are. A superuser's step, once, like CREATE EXTENSION.
CREATE OR REPLACE FUNCTION vibecraft.distribute_on_citus()
RETURNS TABLE (table_name text, placement text, citus_table_type text, distribution_column text,
               colocation_id integer, shard_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    fk record;
    group_first text;
    blockers bigint := (SELECT pg_catalog.count(*) FROM vibecraft.scale_out_blockers());
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus') THEN
        RAISE EXCEPTION 'vibecraft.distribute_on_citus: Citus is not installed in this database' USING ERRCODE = '55000';
    END IF;
    IF blockers OPERATOR(pg_catalog.>) 0 THEN
        RAISE EXCEPTION 'vibecraft.distribute_on_citus: the schema has % blockers', blockers
            USING ERRCODE = '55000', HINT = 'SELECT * FROM vibecraft.scale_out_blockers() lists them.';
    END IF;
    -- One transaction with several distributed steps needs them one after another; the
    -- tables have triggers; copying rows into shards must not fire them (the rows, and
    -- what triggers derive from them, are there already), on any node: SET LOCAL reaches
    -- the workers' connections of this transaction.
    SET LOCAL citus.multi_shard_modify_mode = 'sequential';
    SET LOCAL citus.enable_unsafe_triggers = on;
    SET LOCAL citus.propagate_set_commands = 'local';
    SET LOCAL session_replication_role = replica;

    -- Foreign keys between tables that become Citus tables go first and come back after:
    -- while one end is a Citus table and the other not, Citus would turn the other into a
    -- "Citus local table", which an extension's table cannot be. The workers hold the
    -- extension's tables too (CREATE EXTENSION reached them), with the same keys, which
    -- DDL on a table Citus does not know yet does not reach: they are dropped there by
    -- hand (run_command_on_workers commits on its own, so a failed run leaves them
    -- dropped on the workers only, where the tables hold nothing and the next run drops
    -- them again).
    CREATE TEMP TABLE vibecraft_distribute_fks ON COMMIT DROP AS
    SELECT con.conrelid::pg_catalog.regclass::text AS tbl, con.conname::text AS conname,
           pg_catalog.pg_get_constraintdef(con.oid) AS def
      FROM pg_catalog.pg_constraint con
      JOIN pg_catalog.pg_class f ON f.oid OPERATOR(pg_catalog.=) con.conrelid
      JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) con.confrelid
      JOIN vibecraft.scale_out_plan() pf ON pf.table_name OPERATOR(pg_catalog.=) f.relname::text
      JOIN vibecraft.scale_out_plan() pt ON pt.table_name OPERATOR(pg_catalog.=) t.relname::text
     WHERE con.contype OPERATOR(pg_catalog.=) 'f'
       AND f.relnamespace OPERATOR(pg_catalog.=) 'vibecraft'::pg_catalog.regnamespace
       AND t.relnamespace OPERATOR(pg_catalog.=) 'vibecraft'::pg_catalog.regnamespace
       AND pf.placement OPERATOR(pg_catalog.<>) 'coordinator' AND pt.placement OPERATOR(pg_catalog.<>) 'coordinator'
       AND NOT (EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition d WHERE d.logicalrelid OPERATOR(pg_catalog.=) con.conrelid)
                AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition d WHERE d.logicalrelid OPERATOR(pg_catalog.=) con.confrelid));
    FOR fk IN SELECT * FROM vibecraft_distribute_fks LOOP
        PERFORM pg_catalog.run_command_on_workers(
            pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', fk.tbl, fk.conname));
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
    END LOOP;

    FOR r IN SELECT p.table_name FROM vibecraft.scale_out_plan() p
              WHERE p.placement OPERATOR(pg_catalog.=) 'reference'
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition d
                                 WHERE d.logicalrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('vibecraft.' OPERATOR(pg_catalog.||) p.table_name))
              ORDER BY 1 LOOP
        PERFORM pg_catalog.create_reference_table(pg_catalog.format('vibecraft.%I', r.table_name)::pg_catalog.regclass);
    END LOOP;
    -- Each group is co-located with its first table (by name), so that a user's balance,
    -- ledger and totals, say, are one shard on one node.
    FOR r IN SELECT p.table_name, p.placement, p.distribution_column FROM vibecraft.scale_out_plan() p
              WHERE p.placement LIKE 'by %' ORDER BY p.placement, p.table_name LOOP
        SELECT 'vibecraft.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(pg_catalog.min(g.table_name)) INTO group_first
          FROM vibecraft.scale_out_plan() g
         WHERE g.placement OPERATOR(pg_catalog.=) r.placement
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition d
                        WHERE d.logicalrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('vibecraft.' OPERATOR(pg_catalog.||) g.table_name));
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition d
                        WHERE d.logicalrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('vibecraft.' OPERATOR(pg_catalog.||) r.table_name)) THEN
            PERFORM pg_catalog.create_distributed_table(pg_catalog.format('vibecraft.%I', r.table_name)::pg_catalog.regclass,
                                                        r.distribution_column, colocate_with => coalesce(group_first, 'none'));
        END IF;
    END LOOP;

    FOR fk IN SELECT * FROM vibecraft_distribute_fks LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.tbl, fk.conname, fk.def);
    END LOOP;
    SET LOCAL session_replication_role = origin;
    RETURN QUERY SELECT * FROM vibecraft.scale_out_status();
END
$$;

COMMENT ON FUNCTION vibecraft.scale_out_status() IS
    'Each vibecraft table''s place in scale_out_plan() and, on a Citus coordinator, what it is now (distributed, reference, or not a Citus table), its distribution column, co-location group and shard count. Citus'' citus_tables view leaves out extensions'' tables.';
COMMENT ON FUNCTION vibecraft.distribute_on_citus() IS
    'On a Citus coordinator with its workers added: apply scale_out_plan() (reference tables copied to every node, the others distributed and co-located by group, existing rows moved into the shards); returns scale_out_status(). Re-runnable; refuses while scale_out_blockers() lists anything. A superuser''s step (docs/scale-out.md).';
COMMENT ON FUNCTION vibecraft.citus_shard_here(regclass, bigint) IS
    'On a Citus node: a shard''s table name when this node holds a copy of it, else NULL. For citus_local_shard and citus_colocated_shard.';
COMMENT ON FUNCTION vibecraft.citus_colocated_shard(text, regclass) IS
    'On a Citus node: this node''s shard of a table co-located with a given shard (by name), or NULL. For statement triggers on shards (TRUNCATE).';
COMMENT ON FUNCTION vibecraft.citus_local_shard(regclass, uuid) IS
    'On a Citus node: this node''s copy of the shard of a table that holds a key (a reference table''s one shard for a NULL key), or NULL. For triggers that fire on every copy of a reference table.';

-- The audit rows that shards' triggers wrote into the other nodes' own audit_logs (a
-- trigger on a worker's shard cannot run a distributed query, so it writes locally),
-- moved into this coordinator's, where audit_history(), the admins' policy and the
-- archiving read them. A command to another node runs over a connection of its own,
-- outside this transaction, so deleting there what this transaction copies would lose the
-- rows if it rolled back: each run copies what is new (by id, never twice) and deletes on
-- the node only the rows an earlier, committed run copied. A row therefore reaches the
-- coordinator on the first run after it was written and leaves its node on the second.
-- Elsewhere (no Citus, or not the coordinator) it does nothing. daily_maintenance runs it.
CREATE OR REPLACE FUNCTION vibecraft.collect_audit_rows(batch_size integer DEFAULT 5000)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    node record;
    last_id uuid;
    reply record;
    batch json;
    fetched integer;
    copied_here uuid[];
    n bigint;
    copied bigint := 0;
    cleared bigint := 0;
    nodes integer := 0;
BEGIN
    PERFORM vibecraft.require_staff('collect_audit_rows');
    -- (A batch is one JSON text in memory on both nodes: bounded.)
    IF batch_size IS NULL OR batch_size < 1 OR batch_size > 100000 THEN
        RAISE EXCEPTION 'vibecraft.collect_audit_rows: batch_size must be between 1 and 100000, not %', coalesce(batch_size::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    -- (Two tests: without Citus its catalog does not exist to be read.)
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus') THEN
        RETURN pg_catalog.jsonb_build_object('nodes', 0, 'copied', 0, 'cleared_on_nodes', 0);
    END IF;
    IF (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g) OPERATOR(pg_catalog.<>) 0 THEN
        RETURN pg_catalog.jsonb_build_object('nodes', 0, 'copied', 0, 'cleared_on_nodes', 0);
    END IF;
    -- One run at a time; two would only copy the same rows twice over (skipped by id).
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('vibecraft.collect_audit_rows'));
    -- What this transaction copied is not committed yet, so a later run in it must not
    -- delete those rows on their node. Kept in a table of this transaction (its owner's:
    -- the caller cannot change it), dropped at commit, and rolled back with the copies.
    IF pg_catalog.to_regclass('pg_temp.vibecraft_audit_rows_copied') IS NULL THEN
        CREATE TEMPORARY TABLE vibecraft_audit_rows_copied (id uuid PRIMARY KEY) ON COMMIT DROP;
    ELSIF (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) 'pg_temp.vibecraft_audit_rows_copied'::pg_catalog.regclass)
          OPERATOR(pg_catalog.<>) (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user) THEN
        RAISE EXCEPTION 'vibecraft.collect_audit_rows: pg_temp.vibecraft_audit_rows_copied is not vibecraft''s own'
            USING ERRCODE = '42P07', HINT = 'Drop that temporary table; collect_audit_rows keeps its own list there.';
    END IF;

    FOR node IN SELECT d.nodename, d.nodeport FROM pg_catalog.pg_dist_node d
                 WHERE d.isactive AND d.noderole OPERATOR(pg_catalog.=) 'primary'
                   AND d.nodecluster OPERATOR(pg_catalog.=) pg_catalog.current_setting('citus.cluster_name')
                   AND d.groupid OPERATOR(pg_catalog.<>) 0
                 ORDER BY d.nodename, d.nodeport LOOP
        nodes := nodes + 1;
        last_id := '00000000-0000-0000-0000-000000000000';
        LOOP
            SELECT r.success, r.result INTO reply
              FROM pg_catalog.master_run_on_worker(ARRAY[node.nodename], ARRAY[node.nodeport], ARRAY[pg_catalog.format(
                       'SELECT COALESCE(pg_catalog.json_agg(a ORDER BY a.id), ''[]''::pg_catalog.json) FROM (SELECT * FROM vibecraft.audit_logs
                         WHERE id OPERATOR(pg_catalog.>) %L ORDER BY id LIMIT %s) a', last_id, batch_size)], false) r;
            IF NOT reply.success THEN
                RAISE EXCEPTION 'vibecraft.collect_audit_rows: could not read the audit rows of node %:%', node.nodename, node.nodeport
                    USING ERRCODE = '08006', DETAIL = reply.result;
            END IF;
            batch := reply.result::json;
            fetched := pg_catalog.json_array_length(batch);
            EXIT WHEN fetched OPERATOR(pg_catalog.=) 0;

            -- Copied by an earlier run (and maybe archived since): safe to delete there.
            SELECT pg_catalog.array_agg(b.id) INTO copied_here
              FROM pg_catalog.json_populate_recordset(NULL::vibecraft.audit_logs, batch) b
             WHERE (EXISTS (SELECT 1 FROM vibecraft.audit_logs a WHERE a.id OPERATOR(pg_catalog.=) b.id)
                    OR EXISTS (SELECT 1 FROM vibecraft.audit_logs_archive a WHERE a.id OPERATOR(pg_catalog.=) b.id))
               AND NOT EXISTS (SELECT 1 FROM pg_temp.vibecraft_audit_rows_copied c WHERE c.id OPERATOR(pg_catalog.=) b.id);
            IF copied_here IS NOT NULL THEN
                SELECT r.success, r.result INTO reply
                  FROM pg_catalog.master_run_on_worker(ARRAY[node.nodename], ARRAY[node.nodeport], ARRAY[pg_catalog.format(
                           'DELETE FROM vibecraft.audit_logs WHERE id OPERATOR(pg_catalog.=) ANY (%L::uuid[])', copied_here)], false) r;
                IF NOT reply.success THEN
                    RAISE EXCEPTION 'vibecraft.collect_audit_rows: could not delete copied audit rows on node %:%', node.nodename, node.nodeport
                        USING ERRCODE = '08006', DETAIL = reply.result;
                END IF;
                cleared := cleared + pg_catalog.cardinality(copied_here);
            END IF;

            WITH copy AS (
                INSERT INTO vibecraft.audit_logs
                SELECT b.* FROM pg_catalog.json_populate_recordset(NULL::vibecraft.audit_logs, batch) b
                 WHERE NOT EXISTS (SELECT 1 FROM vibecraft.audit_logs_archive a WHERE a.id OPERATOR(pg_catalog.=) b.id)
                ON CONFLICT (id) DO NOTHING
                RETURNING id)
            INSERT INTO pg_temp.vibecraft_audit_rows_copied SELECT copy.id FROM copy;
            GET DIAGNOSTICS n = ROW_COUNT;
            copied := copied + n;

            EXIT WHEN fetched OPERATOR(pg_catalog.<) batch_size;
            -- (the batch is in id order: its last row's id)
            last_id := (batch OPERATOR(pg_catalog.->) (fetched OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.->>) 'id')::uuid;
        END LOOP;
    END LOOP;
    RETURN pg_catalog.jsonb_build_object('nodes', nodes, 'copied', copied, 'cleared_on_nodes', cleared);
END
$$;

COMMENT ON FUNCTION vibecraft.collect_audit_rows(integer) IS
    'On a Citus coordinator: copy the audit rows that shards'' triggers wrote on the other nodes into this node''s audit_logs (by id, never twice), and delete on those nodes the rows an earlier committed run copied; returns {nodes, copied, cleared_on_nodes}. Elsewhere it does nothing. daily_maintenance runs it; admins and the service role.';

-- Privileges: the operators' (reading the catalog, but a question for them). Applying
-- the plan is a superuser's step; the shard lookup is for vibecraft's own triggers.
GRANT EXECUTE ON FUNCTION vibecraft.scale_out_plan(), vibecraft.scale_out_blockers(), vibecraft.scale_out_status() TO vibecraft_service;
-- (collect_audit_rows checks require_staff itself: admins and the service role)
GRANT EXECUTE ON FUNCTION vibecraft.collect_audit_rows(integer) TO vibecraft_authenticated, vibecraft_service;
REVOKE EXECUTE ON FUNCTION vibecraft.distribute_on_citus(), vibecraft.citus_local_shard(regclass, uuid),
    vibecraft.citus_colocated_shard(text, regclass), vibecraft.citus_shard_here(regclass, bigint) FROM PUBLIC;
