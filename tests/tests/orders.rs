//! Orders paying with credits, as real users: a user orders for itself, cannot cancel
//! another's order, and refunds happen once even when two staff sessions race.

use serde_json::json;
use vibecraft_integration_tests::{sqlstate, token, TestDb};

const MIA: &str = "d1000000-0000-4000-8000-000000000003";
const MAX: &str = "d1000000-0000-4000-8000-000000000002";

#[test]
fn a_cancelled_order_refunds_once_even_under_a_race() {
    let db = TestDb::new("ord_race");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut mia = db.login_as("ord_mia", &["vibecraft_authenticated"]);
    let mut tx = mia.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    let rolled_back: String = tx
        .query_one("SELECT vibecraft.create_order($1::text::uuid, 'ai_generation', 50)::text", &[&MIA])
        .unwrap()
        .get(0);
    let err = tx.query_one("SELECT vibecraft.create_order($1::text::uuid, 'ai_generation', 1)", &[&MAX]);
    assert_eq!(sqlstate(err), "42501", "a user orders only for itself");
    drop(tx); // rolls back the first order
    let mut tx = mia.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    tx.query_one("SELECT vibecraft.create_order($1::text::uuid, 'ai_generation', 50)", &[&MIA]).unwrap();
    tx.commit().unwrap();
    let gone: i64 = su.query_one("SELECT count(*) FROM vibecraft.orders WHERE id = $1::text::uuid", &[&rolled_back]).unwrap().get(0);
    assert_eq!(gone, 0, "a rolled-back order leaves nothing");
    let order: String = su
        .query_one("SELECT id::text FROM vibecraft.orders WHERE user_id = $1::text::uuid AND status = 'pending' AND credits_used = 50", &[&MIA])
        .unwrap()
        .get(0);
    let balance = |su: &mut postgres::Client| -> i32 { su.query_one("SELECT credits FROM vibecraft.credit_balances WHERE user_id = $1::text::uuid", &[&MIA]).unwrap().get(0) };
    assert_eq!(balance(&mut su), 545, "the first order rolled back with its transaction; the second took 50");

    // Two staff sessions cancel and fail the same order at once: one wins, one refund.
    let mut a = db.login_as("ord_staff_a", &["vibecraft_service"]);
    let mut b = db.login_as("ord_staff_b", &["vibecraft_service"]);
    let mut ta = a.transaction().unwrap();
    ta.execute("UPDATE vibecraft.orders SET status = 'processing' WHERE id = $1::text::uuid", &[&order]).unwrap();
    ta.execute("UPDATE vibecraft.orders SET status = 'cancelled' WHERE id = $1::text::uuid", &[&order]).unwrap();
    let order_b = order.clone();
    let racer = std::thread::spawn(move || {
        b.execute("UPDATE vibecraft.orders SET status = 'failed' WHERE id = $1::text::uuid", &[&order_b])
            .map(|_| ())
            .map_err(|e| e.code().map(|c| c.code().to_string()))
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    ta.commit().unwrap();
    let raced = racer.join().unwrap();
    assert_eq!(raced, Err(Some("23514".into())), "the loser sees a final order");
    assert_eq!(balance(&mut su), 595, "refunded exactly once");
    let refunds: i64 = su
        .query_one("SELECT count(*) FROM vibecraft.credit_ledger WHERE reference_id = $1::text::uuid AND amount > 0", &[&order])
        .unwrap()
        .get(0);
    assert_eq!(refunds, 1);

    // Mia cannot cancel (or otherwise update) someone else's order.
    let mut tx = mia.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(MIA, json!({}))]).unwrap();
    let err = tx.query_one("SELECT vibecraft.cancel_order('de000000-0000-4000-8000-000000000003')", &[]);
    assert_eq!(sqlstate(err), "42501");
}
