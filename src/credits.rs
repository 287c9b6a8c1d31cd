//! The credits ledger: `credit_balances.credits` is the balance, `credit_ledger` its history, and
//! every change is one atomic statement that updates the balance and appends the ledger
//! row together, so the ledger sums to the balance at every commit.
//!
//! Concurrency: a deduction is `UPDATE ... WHERE credits >= amount`; when two sessions
//! race for the last credits, the second waits for the first's row lock and then finds
//! too little (READ COMMITTED re-checks the condition), so the balance never goes below
//! zero (a CHECK constraint stands behind that too). A deduction that runs while a
//! top-up is uncommitted judges by the committed balance. With an idempotency key the user's
//! balance row is locked first, so a concurrent call with the same key waits and then returns
//! the first call's result. Only applied changes are remembered: a deduction refused
//! for lack of credits may be retried with the same key; a key reused for another amount
//! or reason is refused with 23505.
//!
//! Who may call: a user for itself, the service role and admins for anyone;
//! add_credits is for the service role and admins only. The functions check that as the
//! caller, then run their statements with the table owner's rights (owner_rights.rs)
//! rather than as SECURITY DEFINER, whose per-call setting of search_path was a measurable
//! part of the cost of a deduction.

use crate::errors::{invalid_parameter as invalid, raise, refuse_on_a_replica};
use crate::identity;
use crate::owner_rights::types::{INT4, TEXT, UUID};
use crate::owner_rights::{Access, OwnerStatement};
use pgrx::prelude::*;
use std::ffi::CStr;

// Every statement here runs with the rights of the owner of vibecraft.credit_balances
// under the caller's search_path, so each is search_path-proof: qualified tables,
// functions, types and operators (see owner_rights.rs). The balance lives in its own
// narrow row (credit_balances), which every user has from its creation on.
const BALANCES: (&CStr, &CStr) = (c"vibecraft", c"credit_balances");

static DEDUCT: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "WITH debit AS (
        UPDATE vibecraft.credit_balances
           SET credits = credits OPERATOR(pg_catalog.-) $2, credits_spent = credits_spent OPERATOR(pg_catalog.+) $2
         WHERE user_id OPERATOR(pg_catalog.=) $1 AND credits OPERATOR(pg_catalog.>=) $2
        RETURNING user_id, credits)
    INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after, reason, actor_id, idempotency_key, reference_type, reference_id)
    SELECT user_id, OPERATOR(pg_catalog.-) $2, credits, $3, $4, $5, $6, $7 FROM debit
    RETURNING balance_after",
    arg_types: &[UUID, INT4, TEXT, UUID, TEXT, TEXT, UUID],
    access: Access::Write,
};

static CREDIT: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "WITH credit AS (
        UPDATE vibecraft.credit_balances SET credits = credits OPERATOR(pg_catalog.+) $2
         WHERE user_id OPERATOR(pg_catalog.=) $1
        RETURNING user_id, credits)
    INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after, reason, actor_id, idempotency_key, reference_type, reference_id)
    SELECT user_id, $2, credits, $3, $4, $5, $6, $7 FROM credit
    RETURNING balance_after",
    arg_types: &[UUID, INT4, TEXT, UUID, TEXT, TEXT, UUID],
    access: Access::Write,
};

/// On a Citus cluster the one-statement forms above would run as an INSERT ... SELECT
/// through the coordinator: the balance's new row pulled back, the ledger row sent out
/// again, and a two-phase commit for what is one shard's change. There the balance and the
/// ledger row are two statements instead, each routed to the user's shard (co-located),
/// committed once; the balance's row lock holds between them, as within the one statement.
static DEDUCT_BALANCE: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "UPDATE vibecraft.credit_balances
             SET credits = credits OPERATOR(pg_catalog.-) $2, credits_spent = credits_spent OPERATOR(pg_catalog.+) $2
           WHERE user_id OPERATOR(pg_catalog.=) $1 AND credits OPERATOR(pg_catalog.>=) $2
          RETURNING credits",
    arg_types: &[UUID, INT4],
    access: Access::Write,
};

static CREDIT_BALANCE: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "UPDATE vibecraft.credit_balances SET credits = credits OPERATOR(pg_catalog.+) $2
           WHERE user_id OPERATOR(pg_catalog.=) $1
          RETURNING credits",
    arg_types: &[UUID, INT4],
    access: Access::Write,
};

static LEDGER_ROW: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after, reason, actor_id, idempotency_key, reference_type, reference_id)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    arg_types: &[UUID, INT4, INT4, TEXT, UUID, TEXT, TEXT, UUID],
    access: Access::Write,
};

/// A user created while the balance trigger was off (a data-only restore of users
/// alone, say) gets its balance row here: zero credits, as the ledger says.
static OPEN_BALANCE: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "INSERT INTO vibecraft.credit_balances (user_id)
          SELECT u.id FROM vibecraft.users u WHERE u.id OPERATOR(pg_catalog.=) $1
          ON CONFLICT (user_id) DO NOTHING",
    arg_types: &[UUID],
    access: Access::Write,
};

/// Lock the user's balance: a concurrent call with the same key waits here for the first.
static LOCK_BALANCE: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "SELECT b.credits FROM vibecraft.credit_balances b WHERE b.user_id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE",
    arg_types: &[UUID],
    access: Access::Write,
};

/// Then find an earlier change with the key, and whether it was the same request (not
/// with IS NOT DISTINCT FROM, which finds `=` by the caller's search_path). A separate
/// statement on purpose: in READ COMMITTED it takes a new snapshot, which sees what the
/// call we waited for committed.
static FIND_KEY: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "SELECT l.amount, l.balance_after, l.amount OPERATOR(pg_catalog.=) $3
            AND coalesce(l.reason OPERATOR(pg_catalog.=) $4, l.reason IS NULL AND $4 IS NULL)
       FROM vibecraft.credit_ledger l
      WHERE l.user_id OPERATOR(pg_catalog.=) $1 AND l.idempotency_key OPERATOR(pg_catalog.=) $2",
    arg_types: &[UUID, TEXT, INT4, TEXT],
    access: Access::Write,
};

/// What the ledger took for one reference and has not given back yet.
static RESERVED: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "SELECT coalesce(OPERATOR(pg_catalog.-) pg_catalog.sum(l.amount), 0)::pg_catalog.int4
       FROM vibecraft.credit_ledger l
      WHERE l.user_id OPERATOR(pg_catalog.=) $1 AND l.reference_type OPERATOR(pg_catalog.=) $2
        AND l.reference_id OPERATOR(pg_catalog.=) $3",
    arg_types: &[UUID, TEXT, UUID],
    access: Access::Write,
};

static USER_EXISTS: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "SELECT pg_catalog.count(*) FROM vibecraft.users WHERE id OPERATOR(pg_catalog.=) $1",
    arg_types: &[UUID],
    access: Access::Write,
};

/// The balance as a fresh snapshot sees it, inside a change (create_order's refusal);
/// no row for an unknown user.
static BALANCE: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "SELECT coalesce(b.credits, 0) FROM vibecraft.users u
       LEFT JOIN vibecraft.credit_balances b ON b.user_id OPERATOR(pg_catalog.=) u.id
      WHERE u.id OPERATOR(pg_catalog.=) $1",
    arg_types: &[UUID],
    access: Access::Write,
};

/// The balance as the calling statement sees it (get_user_credits): no transaction id,
/// so a read replica answers it too.
static BALANCE_READ: OwnerStatement = OwnerStatement {
    rights_of: BALANCES,
    sql: "SELECT coalesce(b.credits, 0) FROM vibecraft.users u
       LEFT JOIN vibecraft.credit_balances b ON b.user_id OPERATOR(pg_catalog.=) u.id
      WHERE u.id OPERATOR(pg_catalog.=) $1",
    arg_types: &[UUID],
    access: Access::Read,
};

fn check_amount(function: &str, amount: Option<i32>) -> i32 {
    match amount {
        Some(a) if a > 0 => a,
        _ => invalid(format!(
            "vibecraft.{function}: amount must be a positive number of credits, not {}",
            amount.map_or("NULL".into(), |a| a.to_string())
        )),
    }
}

fn check_user(function: &str, user: Option<pgrx::Uuid>) -> pgrx::Uuid {
    user.unwrap_or_else(|| invalid(format!("vibecraft.{function}: user_uuid must not be NULL")))
}

fn check_key<'a>(function: &str, key: Option<&'a str>) -> Option<&'a str> {
    match key {
        Some(k) if k.is_empty() || k.len() > 200 => {
            invalid(format!("vibecraft.{function}: idempotency_key must be 1 to 200 characters"))
        }
        other => other,
    }
}

fn unknown_user(function: &str) -> ! {
    invalid(format!("vibecraft.{function}: no such user"))
}

/// Lock the user's balance row (opening it if it is missing); false for an unknown user.
fn lock_balance(user: pgrx::Uuid) -> bool {
    if !LOCK_BALANCE.run(&[user.into()], |t| t.is_empty()) {
        return true;
    }
    OPEN_BALANCE.run(&[user.into()], |_| ());
    !LOCK_BALANCE.run(&[user.into()], |t| t.is_empty())
}

/// The earlier result for this key, after locking the user's balance: Some(amount, balance_after).
/// A key names one request: reused for another amount or reason it is refused (23505),
/// as payment APIs refuse it, rather than answered with the first request's result.
fn earlier_change(function: &str, user: pgrx::Uuid, key: &str, amount: i32, reason: Option<&str>) -> Option<(i32, i32)> {
    if !lock_balance(user) {
        unknown_user(function);
    }
    let earlier = FIND_KEY.run(&[user.into(), key.into(), amount.into(), reason.into()], |t| {
        let row = t.first();
        if row.is_empty() {
            return None;
        }
        Some((row.get::<i32>(1).ok().flatten()?, row.get::<i32>(2).ok().flatten()?, row.get::<bool>(3).ok().flatten()?))
    });
    match earlier {
        Some((amount, balance, true)) => Some((amount, balance)),
        Some(_) => raise(
            PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
            format!("vibecraft.{function}: this idempotency_key was already used for a different change (another amount or reason)"),
            Some("Use a new key for a new request; repeat a request with exactly its amount and reason."),
        ),
        None => None,
    }
}

/// `vibecraft.deduct_credits(user_uuid, amount, reason, idempotency_key)`: true when the
/// credits were taken (with a ledger row), false and no change when the balance is too low.
#[pg_extern(volatile, parallel_unsafe)]
fn deduct_credits(
    user_uuid: Option<pgrx::Uuid>,
    amount: Option<i32>,
    reason: default!(Option<&str>, "NULL"),
    idempotency_key: default!(Option<&str>, "NULL"),
) -> bool {
    refuse_on_a_replica("deduct_credits");
    let user = check_user("deduct_credits", user_uuid);
    let amount = check_amount("deduct_credits", amount);
    let key = check_key("deduct_credits", idempotency_key);
    identity::require_may_act_for("deduct_credits", user, true);
    if let Some(key) = key {
        if let Some((earlier, _)) = earlier_change("deduct_credits", user, key, -amount, reason) {
            return earlier < 0;
        }
    }
    let done = debit(user, amount, reason, key, None);
    if !done && key.is_none() && USER_EXISTS.run(&[user.into()], |t| t.first().get::<i64>(1).ok().flatten()) == Some(0) {
        unknown_user("deduct_credits");
    }
    done
}

/// `vibecraft.add_credits(user_uuid, amount, reason, idempotency_key)`: the new balance.
/// The service role and admins only.
#[pg_extern(volatile, parallel_unsafe)]
fn add_credits(
    user_uuid: Option<pgrx::Uuid>,
    amount: Option<i32>,
    reason: default!(Option<&str>, "NULL"),
    idempotency_key: default!(Option<&str>, "NULL"),
) -> i32 {
    refuse_on_a_replica("add_credits");
    let user = check_user("add_credits", user_uuid);
    let amount = check_amount("add_credits", amount);
    let key = check_key("add_credits", idempotency_key);
    identity::require_may_act_for("add_credits", user, false);
    if let Some(key) = key {
        if let Some((_, balance)) = earlier_change("add_credits", user, key, amount, reason) {
            return balance;
        }
    }
    credit(user, amount, reason, key, None).unwrap_or_else(|| unknown_user("add_credits"))
}

/// What a ledger row was for, e.g. ("order", order id).
pub type Reference<'a> = Option<(&'a str, pgrx::Uuid)>;

/// Take `amount` credits in one statement with its ledger row; false when too few.
/// Callers have checked who may do this.
pub fn debit(user: pgrx::Uuid, amount: i32, reason: Option<&str>, key: Option<&str>, reference: Reference) -> bool {
    let actor = identity::current_user();
    let (ref_type, ref_id) = (reference.map(|r| r.0), reference.map(|r| r.1));
    if identity::nodes::citus_in_this_database() {
        let Some(balance) = DEDUCT_BALANCE.run(&[user.into(), amount.into()], |t| t.first().get::<i32>(1).ok().flatten()) else {
            return false;
        };
        let row = [user.into(), (-amount).into(), balance.into(), reason.into(), actor.into(), key.into(), ref_type.into(), ref_id.into()];
        LEDGER_ROW.run(&row, |_| ());
        return true;
    }
    DEDUCT.run(&[user.into(), amount.into(), reason.into(), actor.into(), key.into(), ref_type.into(), ref_id.into()], |t| !t.is_empty())
}

/// Give `amount` credits in one statement with its ledger row; the new balance, or
/// None for an unknown user. Callers have checked who may do this.
pub fn credit(user: pgrx::Uuid, amount: i32, reason: Option<&str>, key: Option<&str>, reference: Reference) -> Option<i32> {
    let actor = identity::current_user();
    let (ref_type, ref_id) = (reference.map(|r| r.0), reference.map(|r| r.1));
    let citus = identity::nodes::citus_in_this_database();
    let change = || {
        if citus {
            let balance = CREDIT_BALANCE.run(&[user.into(), amount.into()], |t| t.first().get::<i32>(1).ok().flatten())?;
            let row = [user.into(), amount.into(), balance.into(), reason.into(), actor.into(), key.into(), ref_type.into(), ref_id.into()];
            LEDGER_ROW.run(&row, |_| ());
            return Some(balance);
        }
        CREDIT.run(&[user.into(), amount.into(), reason.into(), actor.into(), key.into(), ref_type.into(), ref_id.into()], |t| {
            if t.is_empty() {
                return None;
            }
            t.first().get::<i32>(1).ok().flatten()
        })
    };
    change().or_else(|| {
        OPEN_BALANCE.run(&[user.into()], |_| ());
        change()
    })
}

/// `vibecraft.get_user_credits(user_uuid)`: the balance (a user its own, the service
/// role and admins anyone's); NULL for an unknown user.
#[pg_extern(stable, parallel_restricted)]
fn get_user_credits(user_uuid: Option<pgrx::Uuid>) -> Option<i32> {
    let user = check_user("get_user_credits", user_uuid);
    identity::require_may_act_for("get_user_credits", user, true);
    BALANCE_READ.run(&[user.into()], |t| t.first().get_one::<i32>().ok().flatten())
}

/// The user's balance, None for an unknown user. Callers have checked who may see it.
pub fn balance(user: pgrx::Uuid) -> Option<i32> {
    BALANCE.run(&[user.into()], |t| t.first().get_one::<i32>().ok().flatten())
}

/// Give back, once, the credits the ledger took from `user` for `reference` (an
/// order that failed or was cancelled); returns how many. The user's row is locked
/// first, so two concurrent refunds of one reference cannot both pay out; the second
/// finds nothing left. Callers have checked who may do this.
pub fn refund_reference(user: pgrx::Uuid, reference: (&str, pgrx::Uuid), reason: &str) -> i32 {
    if !lock_balance(user) {
        return 0;
    }
    let (ref_type, ref_id) = reference;
    let reserved = RESERVED.run(&[user.into(), ref_type.into(), ref_id.into()], |t| t.first().get::<i32>(1).ok().flatten().unwrap_or(0));
    if reserved <= 0 {
        return 0;
    }
    credit(user, reserved, Some(reason), None, Some(reference));
    reserved
}
