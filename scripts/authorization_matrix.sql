-- The write matrix of docs/authorization.md, read from the live catalog (run by
-- scripts/authorization_matrix.sh against a fresh install): for every table and view of
-- schema vibecraft, what vibecraft_anon and vibecraft_authenticated may do with each
-- command (every column, the listed columns, or nothing), and the policies that decide
-- which rows. vibecraft_service may do everything, on every row.
WITH rel AS (
    SELECT c.oid, c.relname, c.relkind FROM pg_class c
     WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v', 'm')
), role(r, label) AS (
    VALUES ('vibecraft_anon', 'anon'), ('vibecraft_authenticated', 'authenticated')
), cmd(c, ord) AS (
    VALUES ('SELECT', 1), ('INSERT', 2), ('UPDATE', 3), ('DELETE', 4)
), cell AS (
    SELECT rel.relname, role.label, cmd.ord,
           CASE WHEN has_table_privilege(role.r, rel.oid, cmd.c) THEN 'all'
                WHEN cmd.c = 'DELETE' THEN '-'
                ELSE coalesce((SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a
                                WHERE a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
                                  AND has_column_privilege(role.r, rel.oid, a.attnum, cmd.c)), '-') END AS v
      FROM rel, role, cmd
), line AS (
    SELECT relname, label, string_agg(v, ' | ' ORDER BY ord) AS cells FROM cell GROUP BY relname, label
), pol AS (
    SELECT tablename, string_agg(format('`%s` %s', policyname, cmd), ', ' ORDER BY policyname, cmd) AS p
      FROM pg_policies WHERE schemaname = 'vibecraft' AND policyname <> 'service_all' GROUP BY tablename
)
SELECT out FROM (
    SELECT rel.relname AS k, 0 AS o, format(E'\n### %s%s\n\n| role | SELECT | INSERT | UPDATE | DELETE |\n| --- | --- | --- | --- | --- |',
           rel.relname, CASE rel.relkind WHEN 'v' THEN ' (view)' WHEN 'm' THEN ' (materialized view)' ELSE '' END) AS out
      FROM rel
    UNION ALL
    SELECT l.relname, CASE l.label WHEN 'anon' THEN 1 ELSE 2 END, format('| %s | %s |', l.label, l.cells) FROM line l
    UNION ALL
    SELECT rel.relname, 3, format(E'\nPolicies: %s.', coalesce(pol.p, CASE WHEN rel.relkind = 'r' THEN 'none (service role only)'
                                                                     ELSE 'those of the table underneath (security_invoker)' END))
      FROM rel LEFT JOIN pol ON pol.tablename = rel.relname
) x ORDER BY k, o;
