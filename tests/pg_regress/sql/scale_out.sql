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

-- What stands in the way today, by kind, then each one. This list is the work left
-- before the schema can be distributed; it shrinks as that work lands.
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
RESET ROLE;
SET ROLE vibecraft_service;
SELECT count(*) > 0 AS service_sees_them FROM vibecraft.scale_out_blockers();
RESET ROLE;
\c postgres
DROP DATABASE regress_scale_out;
