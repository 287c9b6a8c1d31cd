//! Orders that pay with credits: `create_order` reserves the credits in the same
//! statement that records the order, and an order that ends failed or cancelled gets
//! them back exactly once (`refund_order_credits`, called by a trigger). What is
//! refunded is what the ledger took for that order, never the order's own
//! `credits_used` column, so an order row written by hand cannot mint credits.
//! Payments, downloads and the status flow itself are SQL, in sql/orders/rules.sql.
//!
//! Both functions run as the caller, who is checked, and write and read orders with the
//! owner's rights (owner_rights.rs), whatever the caller's own grants and RLS allow.

use crate::credits;
use crate::errors::{internal, invalid_parameter as invalid, raise, refuse_on_a_replica};
use crate::identity;
use crate::owner_rights::types::{INT4, JSONB, NUMERIC, TEXT, UUID};
use crate::owner_rights::{Access, OwnerStatement};
use pgrx::prelude::*;
use pgrx::{AnyNumeric, JsonB, PgSqlErrorCode};
use std::ffi::CStr;

const ORDERS: (&CStr, &CStr) = (c"vibecraft", c"orders");

static INSERT_ORDER: OwnerStatement = OwnerStatement {
    rights_of: ORDERS,
    sql: "INSERT INTO vibecraft.orders (user_id, order_type, credits_used, items, total_cost, metadata)
          VALUES ($1, $2, $3, coalesce($4, '[]'), coalesce($5, 0), coalesce($6, '{}'))
          RETURNING id",
    arg_types: &[UUID, TEXT, INT4, JSONB, NUMERIC, JSONB],
    access: Access::Write,
};

static ORDER_USER_AND_STATUS: OwnerStatement = OwnerStatement {
    rights_of: ORDERS,
    sql: "SELECT o.user_id, o.status::pg_catalog.text FROM vibecraft.orders o WHERE o.id OPERATOR(pg_catalog.=) $1",
    arg_types: &[UUID],
    access: Access::Write,
};

/// The same by the order's whole key (the refund trigger knows it: on Citus this reads the
/// order's one shard rather than every shard).
static ORDER_STATUS_BY_KEY: OwnerStatement = OwnerStatement {
    rights_of: ORDERS,
    sql: "SELECT o.user_id, o.status::pg_catalog.text FROM vibecraft.orders o
           WHERE o.id OPERATOR(pg_catalog.=) $1 AND o.user_id OPERATOR(pg_catalog.=) $2",
    arg_types: &[UUID, UUID],
    access: Access::Write,
};

/// `vibecraft.create_order(user_uuid, order_type, credits, items, total_cost, metadata)`:
/// a pending order, its credits taken from the user with a ledger row that points at it.
/// Too few credits: SQLSTATE 23514 and no order.
#[pg_extern(volatile, parallel_unsafe)]
fn create_order(
    user_uuid: Option<pgrx::Uuid>,
    order_type: Option<&str>,
    credits: default!(Option<i32>, "0"),
    items: default!(Option<JsonB>, "'[]'"),
    total_cost: default!(Option<AnyNumeric>, "0"),
    metadata: default!(Option<JsonB>, "'{}'"),
) -> pgrx::Uuid {
    const F: &str = "create_order";
    refuse_on_a_replica(F);
    let Some(user) = user_uuid else { invalid(format!("vibecraft.{F}: user_uuid must not be NULL")) };
    let Some(order_type) = order_type else { invalid(format!("vibecraft.{F}: order_type must not be NULL")) };
    let credits = match credits {
        Some(c) if c >= 0 => c,
        other => invalid(format!("vibecraft.{F}: credits must be zero or more, not {}", other.map_or("NULL".into(), |c| c.to_string()))),
    };
    identity::require_may_act_for(F, user, true);
    let order: pgrx::Uuid = INSERT_ORDER
        .run(
            &[user.into(), order_type.into(), credits.into(), items.into(), total_cost.into(), metadata.into()],
            |t| t.first().get_one::<pgrx::Uuid>(),
        )
        .unwrap_or_else(|e| internal(format!("vibecraft.{F}: {e}")))
        .expect("INSERT ... RETURNING id gives a row");
    if credits > 0 && !credits::debit(user, credits, Some(&format!("order {order_type}")), None, Some(("order", order))) {
        let balance = credits::balance(user);
        raise(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            format!("vibecraft.{F}: the order needs {credits} credits, the user has {}", balance.map_or("none".into(), |b| b.to_string())),
            Some("Add credits first (vibecraft.add_credits) or order less."),
        );
    }
    order
}

/// `vibecraft.refund_order_credits(order_id)`: give back the credits a failed or
/// cancelled order took, once; returns how many (0 when nothing is owed).
#[pg_extern(volatile, parallel_unsafe)]
fn refund_order_credits(order_id: Option<pgrx::Uuid>) -> i32 {
    refund(order_id, None)
}

/// `vibecraft.refund_order_credits(order_id, user_uuid)`: the same for the order named by
/// its whole key (what the refund trigger calls).
#[pg_extern(volatile, parallel_unsafe, name = "refund_order_credits")]
fn refund_order_credits_by_key(order_id: Option<pgrx::Uuid>, user_uuid: Option<pgrx::Uuid>) -> i32 {
    let Some(user) = user_uuid else { invalid("vibecraft.refund_order_credits: user_uuid must not be NULL") };
    refund(order_id, Some(user))
}

fn refund(order_id: Option<pgrx::Uuid>, user: Option<pgrx::Uuid>) -> i32 {
    const F: &str = "refund_order_credits";
    refuse_on_a_replica(F);
    let Some(order) = order_id else { invalid(format!("vibecraft.{F}: order_id must not be NULL")) };
    // An order's key is (id, user_id): its id is unique per user only (docs/scale-out.md).
    let read = |t: pgrx::spi::SpiTupleTable| {
        t.into_iter().map(|r| Ok((r.get::<pgrx::Uuid>(1)?, r.get::<String>(2)?))).collect::<Result<Vec<_>, pgrx::spi::Error>>()
    };
    let rows = match user {
        Some(user) => ORDER_STATUS_BY_KEY.run(&[order.into(), user.into()], read),
        None => ORDER_USER_AND_STATUS.run(&[order.into()], read),
    };
    let mine: Vec<(pgrx::Uuid, String)> = rows
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(user, status)| Some((user?, status?)))
        .filter(|(user, _)| identity::may_act_for(*user, true))
        .collect();
    // Another user's order answers as a missing one: ids are not confirmed.
    let (user, status) = match mine.as_slice() {
        [(user, status)] => (*user, status.clone()),
        [] => raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("vibecraft.{F}: no such order of yours"), None),
        _ => raise(PgSqlErrorCode::ERRCODE_CARDINALITY_VIOLATION, format!("vibecraft.{F}: orders of several users have the id {order}"), None),
    };
    if status != "failed" && status != "cancelled" {
        return 0;
    }
    credits::refund_reference(user, ("order", order), &format!("refund: order {status}"))
}
