-- Every generated upgrade runs this just before the rooms' re-runnable rules.
--
-- Privileges are granted again from nothing, so that an upgraded database holds exactly
-- the grants of a fresh install: the rooms' rules then grant what this version grants,
-- and a privilege an earlier version gave (a table-wide UPDATE, say) does not linger.
-- Revoking a table privilege also revokes the column privileges of the same kind.
-- Only vibecraft's own roles and PUBLIC are touched: grants a DBA gave other roles stay.
REVOKE ALL ON ALL TABLES IN SCHEMA vibecraft FROM PUBLIC, vibecraft_anon, vibecraft_authenticated, vibecraft_service;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA vibecraft FROM PUBLIC, vibecraft_anon, vibecraft_authenticated, vibecraft_service;
