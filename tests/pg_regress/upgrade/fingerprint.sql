-- Everything an installed vibecraft consists of, one line per fact, in a stable order.
-- An upgraded database and a fresh install of the same version must print the same.
SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vibecraft')
UNION ALL
SELECT format('column %s.%s %s notnull=%s default=%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
              a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT format('column_acl %s.%s %s', c.relname, a.attname, (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(a.attacl) x))
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'vibecraft'::regnamespace AND a.attacl IS NOT NULL AND a.attnum > 0
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'vibecraft'
UNION ALL
SELECT format('constraint %s.%s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
  FROM pg_constraint WHERE connamespace = 'vibecraft'::regnamespace
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'vibecraft'::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT format('policy %s.%s permissive=%s roles=%s cmd=%s using=%s check=%s', tablename, policyname, permissive,
              roles::text, cmd, qual, with_check)
  FROM pg_policies WHERE schemaname = 'vibecraft'
UNION ALL
SELECT format('rls %s enabled=%s forced=%s acl=%s', c.oid::regclass, c.relrowsecurity, c.relforcerowsecurity,
              (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(c.relacl) x))
  FROM pg_class c WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v', 'm')
UNION ALL
SELECT format('comment %s %s', c.oid::regclass, md5(coalesce(obj_description(c.oid, 'pg_class'), '')))
  FROM pg_class c WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('r', 'v', 'm')
UNION ALL
SELECT format('populated %s %s', c.oid::regclass, c.relispopulated)
  FROM pg_class c WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'm'
UNION ALL
SELECT format('view %s %s', c.oid::regclass, md5(pg_get_viewdef(c.oid)))
  FROM pg_class c WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind IN ('v', 'm')
UNION ALL
SELECT format('function %s %s acl=%s comment=%s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid)),
              (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(p.proacl) x),
              md5(coalesce(obj_description(p.oid, 'pg_proc'), '')))
  FROM pg_proc p WHERE p.pronamespace = 'vibecraft'::regnamespace AND p.prokind <> 'a'
UNION ALL
SELECT format('config_dump %s %s', cfg::regclass, cond)
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(cfg, cond) WHERE e.extname = 'vibecraft'
UNION ALL
SELECT format('setting %s %s %s', id, key, value) FROM vibecraft.system_settings WHERE is_system
UNION ALL
SELECT format('reference %s', r) FROM (
    SELECT 'ai_providers ' || id || ' ' || name FROM vibecraft.ai_providers WHERE is_system
    UNION ALL SELECT 'prompt_frameworks ' || id || ' ' || name FROM vibecraft.prompt_frameworks WHERE is_system
    UNION ALL SELECT 'feedback_categories ' || id || ' ' || name FROM vibecraft.feedback_categories WHERE is_system
    UNION ALL SELECT 'storage_buckets ' || id || ' ' || name FROM vibecraft.storage_buckets WHERE is_system) x(r)
ORDER BY 1;
