-- The tour `make run` prints: each statement is shown with its real result.
\pset footer off
SELECT vibecraft.version();
SELECT key, value FROM jsonb_each(vibecraft.health_check())
 WHERE key IN ('extension_installed', 'jwt_secret_configured', 'keyring_configured', 'in_shared_preload_libraries')
 ORDER BY key;
-- The demo organizations and their users (ValueCanvas's seed).
SELECT o.name AS organization, o.tier, u.email, u.role, b.credits
  FROM vibecraft.organizations o JOIN vibecraft.users u ON u.organization_id = o.id
  JOIN vibecraft.credit_balances b ON b.user_id = u.id
 ORDER BY o.name, u.email;
-- Creo's dashboard view, one row per user.
SELECT email, credits, total_orders, total_spent, projects_owned, prompts, active_api_keys
  FROM vibecraft.user_dashboard ORDER BY email;
-- An order may not go back from completed: SQLSTATE 23514.
\set VERBOSITY terse
UPDATE vibecraft.orders SET status = 'pending' WHERE status = 'completed';
\set VERBOSITY default
-- The audit trail recorded how the demo data arrived.
SELECT action, resource_type, count(*) FROM vibecraft.audit_logs GROUP BY 1, 2 ORDER BY 2, 1 LIMIT 8;
