//! The credits ledger under real roles and real concurrency.

use postgres::Client;
use serde_json::json;
use std::time::{Duration, Instant};
use vibecraft_integration_tests::{sqlstate, token, TestDb};

const MIA: &str = "d1000000-0000-4000-8000-000000000003";
const MAX: &str = "d1000000-0000-4000-8000-000000000002";

fn signed_in<'a>(client: &'a mut Client, user: &str) -> postgres::Transaction<'a> {
    let mut tx = client.transaction().unwrap();
    tx.query_one("SELECT vibecraft.authenticate($1)", &[&token(user, json!({}))]).unwrap();
    tx
}

fn ledger_matches_balance(su: &mut Client, user: &str) -> (i32, i64) {
    let row = su
        .query_one(
            "SELECT (SELECT b.credits FROM vibecraft.credit_balances b WHERE b.user_id = u.id), (SELECT coalesce(sum(l.amount), 0) FROM vibecraft.credit_ledger l WHERE l.user_id = u.id)
               FROM vibecraft.users u WHERE u.id = $1::text::uuid",
            &[&user],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn users_spend_their_own_credits_and_nothing_more() {
    let db = TestDb::new("cr_rules");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let mut mia = db.login_as("mia", &["vibecraft_authenticated"]);

    let mut tx = signed_in(&mut mia, MIA);
    let took: bool = tx.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 5, 'download')", &[&MIA]).unwrap().get(0);
    assert!(took);
    let balance: i32 = tx.query_one("SELECT vibecraft.get_user_credits($1::text::uuid)", &[&MIA]).unwrap().get(0);
    assert_eq!(balance, 590);
    let stats: serde_json::Value = tx.query_one("SELECT vibecraft.get_user_stats($1::text::uuid)", &[&MIA]).unwrap().get(0);
    assert_eq!((stats["credits"].as_i64(), stats["credits_spent"].as_i64()), (Some(590), Some(10)), "{stats}");
    let too_much: bool = tx.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 100000)", &[&MIA]).unwrap().get(0);
    assert!(!too_much, "a deduction above the balance is refused");
    tx.commit().unwrap();

    for (what, sql) in [
        ("add credits to itself", format!("SELECT vibecraft.add_credits('{MIA}', 1000)")),
        ("deduct another user's credits", format!("SELECT vibecraft.deduct_credits('{MAX}', 1)")),
        ("read another user's balance", format!("SELECT vibecraft.get_user_credits('{MAX}')")),
        ("read another user's statistics", format!("SELECT vibecraft.get_user_stats('{MAX}')")),
    ] {
        let mut tx = signed_in(&mut mia, MIA);
        assert_eq!(sqlstate(tx.query_one(sql.as_str(), &[])), "42501", "a user cannot {what}");
    }
    for amount in ["0", "-5", "NULL"] {
        let mut tx = signed_in(&mut mia, MIA);
        let sql = format!("SELECT vibecraft.deduct_credits('{MIA}', {amount})");
        assert_eq!(sqlstate(tx.query_one(sql.as_str(), &[])), "22023", "amount {amount}");
    }
    // Nor can it write the ledger or its balance directly.
    let mut tx = signed_in(&mut mia, MIA);
    assert_eq!(sqlstate(tx.execute("UPDATE vibecraft.credit_balances SET credits = 1000000 WHERE user_id = vibecraft.current_user_id()", &[])), "42501");
    drop(tx);
    let mut tx = signed_in(&mut mia, MIA);
    assert_eq!(
        sqlstate(tx.execute("INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after) VALUES (vibecraft.current_user_id(), 1000, 1000)", &[])),
        "42501"
    );
    drop(tx);

    // The backend adds credits, idempotently.
    let mut backend = db.login_as("backend", &["vibecraft_service"]);
    let first: i32 = backend.query_one("SELECT vibecraft.add_credits($1::text::uuid, 100, 'purchase', 'pi_123')", &[&MIA]).unwrap().get(0);
    let again: i32 = backend.query_one("SELECT vibecraft.add_credits($1::text::uuid, 100, 'purchase', 'pi_123')", &[&MIA]).unwrap().get(0);
    assert_eq!((first, again), (690, 690));
    assert_eq!(ledger_matches_balance(&mut su, MIA), (690, 690));
}

#[test]
fn eight_connections_for_ten_seconds_never_overdraw() {
    let db = TestDb::new("cr_load");
    let mut su = db.superuser();
    let user = "c1000000-0000-4000-8000-000000000001";
    su.execute("INSERT INTO vibecraft.users (id, email) VALUES ($1::text::uuid, 'load@example.com')", &[&user]).unwrap();
    su.query_one("SELECT vibecraft.add_credits($1::text::uuid, 5000, 'start')", &[&user]).unwrap();
    let clients: Vec<Client> = (0..8).map(|i| db.login_as(&format!("w{i}"), &["vibecraft_service"])).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let workers: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let user = user.to_string();
            std::thread::spawn(move || {
                let mut ok = 0i64;
                while Instant::now() < deadline {
                    let took: bool = c.query_one("SELECT vibecraft.deduct_credits($1::text::uuid, 1, 'load')", &[&user]).unwrap().get(0);
                    ok += took as i64;
                }
                ok
            })
        })
        .collect();
    let succeeded: i64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let (balance, ledger) = ledger_matches_balance(&mut su, user);
    assert!(balance >= 0);
    assert_eq!(balance as i64, 5000 - succeeded, "every success took exactly one credit");
    assert_eq!(ledger, balance as i64, "the ledger sums to the balance");
    let negative: i64 = su.query_one("SELECT count(*) FROM vibecraft.credit_ledger WHERE balance_after < 0", &[]).unwrap().get(0);
    assert_eq!(negative, 0);
    eprintln!("load: {succeeded} deductions in 10 s over 8 connections; balance {balance}");
}
