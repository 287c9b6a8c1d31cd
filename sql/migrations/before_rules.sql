-- Every generated upgrade runs this just before the rooms' re-runnable rules.
--
-- Privileges are granted again from nothing, so that an upgraded database holds exactly
-- the grants of a fresh install: the rooms' rules then grant what this version grants,
-- and a privilege an earlier version gave (a table-wide UPDATE, say) does not linger.
-- Revoking a table privilege also revokes the column privileges of the same kind.
-- Only vibecraft's own roles and PUBLIC are touched: grants a DBA gave other roles stay.
REVOKE ALL ON ALL TABLES IN SCHEMA vibecraft FROM PUBLIC, vibecraft_anon, vibecraft_authenticated, vibecraft_service;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA vibecraft FROM PUBLIC, vibecraft_anon, vibecraft_authenticated, vibecraft_service;

-- Policies are created again from nothing too (PostgreSQL has no CREATE OR REPLACE
-- POLICY): every policy on vibecraft's tables goes, and the rooms' rules create this
-- version's. A policy of your own on a vibecraft table must be created again after an
-- upgrade (docs/dba.md, "Upgrade").
DO $policies$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT pol.polname, pol.polrelid::regclass AS rel
               FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
              WHERE c.relnamespace = 'vibecraft'::regnamespace LOOP
        EXECUTE pg_catalog.format('DROP POLICY %I ON %s', p.polname, p.rel);
    END LOOP;
END
$policies$;
