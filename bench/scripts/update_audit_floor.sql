-- The floor of the audit trigger: the same UPDATE and the INSERT of the same audit row
-- (action, table, key, before/after of the changed column, role, transaction, address,
-- caller), in one statement, on a table without triggers.
\set id random(1, 10000)
WITH u AS (UPDATE public.bench_plain SET counter = counter + 1 WHERE id = :id RETURNING id, counter)
INSERT INTO vibecraft.audit_logs (action, resource_type, table_schema, resource_id, changes, db_role, transaction_id, ip_address, user_id)
SELECT 'update', 'bench_plain', 'public', u.id::text,
       jsonb_build_object('before', jsonb_build_object('counter', u.counter - 1), 'after', jsonb_build_object('counter', u.counter)),
       current_user, txid_current(), inet_client_addr(), vibecraft.current_user_id()
  FROM u;
