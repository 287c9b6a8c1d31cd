-- scale_out_plan() and scale_out_blockers(): where each table would go on a Citus cluster,
-- and what in the schema must still change before it can (docs/scale-out.md). They read
-- the catalog only, so they answer on a single server too.
-- In a database of its own: what other suites add to the shared one (an index, a foreign
-- key) would show up here.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_scale_out;
CREATE DATABASE regress_scale_out;
\c regress_scale_out
SET client_min_messages = warning;
CREATE EXTENSION vibecraft CASCADE;

-- Every table has one place: copied to every node, distributed with its group, or kept
-- on the coordinator.
SELECT placement, distribution_column, count(*) AS tables
  FROM vibecraft.scale_out_plan() GROUP BY 1, 2 ORDER BY 1, 2;
SELECT table_name AS placed_twice FROM vibecraft.scale_out_plan() GROUP BY 1 HAVING count(*) > 1;
SELECT table_name AS placed_but_missing FROM vibecraft.scale_out_plan()
 WHERE to_regclass('vibecraft.' || table_name) IS NULL;

-- What stands in the way, by kind, then each one: nothing, since 0.2.0 (vibecraft.
-- distribute_on_citus() refuses to run while anything is listed).
SELECT kind, count(*) FROM vibecraft.scale_out_blockers() GROUP BY 1 ORDER BY 1;
SELECT kind, table_name, object FROM vibecraft.scale_out_blockers();

-- A new table the plan does not place is a blocker, and so is a unique key without its
-- group's column, or a foreign key across groups.
CREATE TABLE vibecraft.regress_unplaced (id int PRIMARY KEY);
CREATE UNIQUE INDEX regress_global_title ON vibecraft.project_knowledge (title);
ALTER TABLE vibecraft.project_knowledge ADD CONSTRAINT regress_across_groups
    FOREIGN KEY (user_id) REFERENCES vibecraft.user_preferences (user_id) NOT VALID;
SELECT kind, table_name, object, detail FROM vibecraft.scale_out_blockers()
 WHERE table_name = 'regress_unplaced' OR object LIKE '%regress%';
DROP TABLE vibecraft.regress_unplaced;
ALTER TABLE vibecraft.project_knowledge DROP CONSTRAINT regress_across_groups;
DROP INDEX vibecraft.regress_global_title;
SELECT count(*) AS blockers FROM vibecraft.scale_out_blockers();

-- A question for the operators: the service role (and superusers) only.
SET ROLE vibecraft_authenticated;
SELECT count(*) FROM vibecraft.scale_out_blockers();
SELECT count(*) FROM vibecraft.scale_out_status();
\set VERBOSITY terse
SELECT vibecraft.collect_audit_rows();
\set VERBOSITY default
RESET ROLE;
SET ROLE vibecraft_service;
SELECT count(*) AS service_sees_no_blocker FROM vibecraft.scale_out_blockers();
-- The workers' audit rows are collected on a Citus coordinator only: here, none.
SELECT vibecraft.collect_audit_rows() AS nothing_to_collect;
\set VERBOSITY terse
SELECT vibecraft.collect_audit_rows(batch_size => 0);
\set VERBOSITY default
-- Without Citus every table is where one server keeps it, and says so.
SELECT placement, count(*) AS tables, count(citus_table_type) AS citus_tables
  FROM vibecraft.scale_out_status() GROUP BY 1 ORDER BY 1;
-- Applying the plan is a superuser's step, and the shard lookups are the triggers' own.
SELECT * FROM vibecraft.distribute_on_citus();
SELECT vibecraft.citus_local_shard('vibecraft.users');
RESET ROLE;
-- A superuser without Citus is told what is missing.
SELECT * FROM vibecraft.distribute_on_citus();
\c postgres
DROP DATABASE regress_scale_out;
