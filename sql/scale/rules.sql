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
        ('saved_searches', 'by user', 'user_id'), ('sessions', 'by user', 'user_id'),
        ('user_activity', 'by user', 'user_id'), ('user_preferences', 'by user', 'user_id'),
        ('user_provider_totals', 'by user', 'user_id'), ('user_stat_totals', 'by user', 'user_id'),
        -- a project's content, read by its members
        ('project_assets', 'by project', 'project_id'), ('project_components', 'by project', 'project_id'),
        ('project_invitations', 'by project', 'project_id'), ('project_knowledge', 'by project', 'project_id'),
        ('project_settings', 'by project', 'project_id'),
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
    'Where each vibecraft table goes on a Citus cluster: reference (copied to every node), by user / by project / by organization / by feedback (distributed by that column, co-located with its group), or coordinator (stays on the coordinator). The plan only; docs/scale-out.md explains it, scale_out_blockers() lists what the schema must still change for it.';

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
    SELECT 'after-trigger on a reference table', p.table_name, tg.tgname::text,
           'runs ' || tg.tgfoid::pg_catalog.regproc::text || ' on every placement: it would act once per node, and cannot write a distributed or reference table from a shard'
      FROM plan p JOIN pg_catalog.pg_trigger tg ON tg.tgrelid OPERATOR(pg_catalog.=) p.relid AND NOT tg.tgisinternal
     WHERE p.placement OPERATOR(pg_catalog.=) 'reference'
       AND (tg.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 2) OPERATOR(pg_catalog.=) 0  -- not BEFORE
       AND (tg.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 64) OPERATOR(pg_catalog.=) 0 -- not INSTEAD OF
    UNION ALL
    -- The audit trail of a distributed table would be written on the worker that holds
    -- the shard, where audit_logs is not the coordinator's.
    SELECT 'audit trigger on a distributed table', p.table_name, tg.tgname::text,
           'vibecraft.audit_logs stays on the coordinator; a shard''s trigger runs on a worker'
      FROM plan p JOIN pg_catalog.pg_trigger tg ON tg.tgrelid OPERATOR(pg_catalog.=) p.relid AND NOT tg.tgisinternal
     WHERE p.distributed AND tg.tgfoid OPERATOR(pg_catalog.=) 'vibecraft.audit_trigger()'::pg_catalog.regprocedure
       AND (tg.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 1) OPERATOR(pg_catalog.=) 1 -- FOR EACH ROW
    ORDER BY 1, 2, 3
$$;

COMMENT ON FUNCTION vibecraft.scale_out_blockers() IS
    'What in this database''s schema stands in the way of vibecraft.scale_out_plan() on a Citus cluster: tables the plan does not place, nullable distribution columns, primary keys and unique indexes without the distribution column, foreign keys Citus refuses, after-triggers on reference tables, audit triggers on distributed tables. Reads the catalog only. Empty once the schema is ready.';

-- Privileges: the operators' (reading the catalog, but a question for them).
GRANT EXECUTE ON FUNCTION vibecraft.scale_out_plan(), vibecraft.scale_out_blockers() TO vibecraft_service;
