//! Every vibecraft function, called with bad input in every argument: NULLs, empty and
//! 10 MB strings, invalid UUIDs, negative and overflowing numbers, zero and negative
//! intervals, malformed JWTs and envelopes, invalid UTF-8 escapes, injection attempts.
//! Each call must end in a result or a clean SQL error (never XX000, which is what a Rust
//! panic becomes), the connection must stay usable, and afterwards the server must not
//! have restarted and its log must hold no PANIC or crash.

use postgres::Client;
use serde_json::json;
use vibecraft_integration_tests::{token, TestDb};

const MIA: &str = "d1000000-0000-4000-8000-000000000003";

/// Bad values for an argument of this type, as SQL expressions.
fn bad_values(sql_type: &str) -> Vec<String> {
    let text: Vec<&str> = vec![
        "NULL",
        "''",
        "repeat('x', 10 * 1024 * 1024)",
        "E'\\xff\\xfe'",
        "E'nul\\u0001byte'",
        "'a.b.c'",
        "'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.not-a-signature'",
        "'eyJhbGciOiJub25lIn0.eyJzdWIiOiJkMTAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDMifQ.'",
        "'vc1:v1:AAAA'",
        "'vc1:zz:!!!!'",
        "'vc1:'",
        "$$'; DROP TABLE vibecraft.users; --$$",
        "'vibecraft.users; DROP TABLE vibecraft.orders'",
        "'\"quoted\"\"ident'",
        "'not-a-uuid'",
        "'-1'",
        "repeat('é', 100000)",
    ];
    let list: Vec<&str> = match sql_type {
        "text" | "character varying" => text,
        "uuid" => vec!["NULL", "'not-a-uuid'::uuid", "'00000000-0000-0000-0000-000000000000'", "gen_random_uuid()"],
        "integer" => vec!["NULL", "0", "-1", "-2147483648", "2147483647", "'99999999999'::integer"],
        "bigint" => vec!["NULL", "0", "-1", "-9223372036854775808", "9223372036854775807"],
        "numeric" => vec!["NULL", "0", "-1", "'NaN'::numeric", "1e30", "'1e400'::numeric"],
        "interval" => vec!["NULL", "'0 seconds'", "'-1 hour'", "'1000 years'", "'1 microsecond'"],
        "jsonb" => vec!["NULL", "'{}'", "'[]'", "'null'", "'\"text\"'", "'{bad'::jsonb", "'[1, 2, 3]'"],
        "timestamp with time zone" => vec!["NULL", "'infinity'", "'-infinity'", "'1900-01-01'", "now() - interval '1 day'"],
        "text[]" => vec!["NULL", "'{}'", "'{NULL}'", "ARRAY[repeat('x', 100000)]", "ARRAY['', '\"']"],
        "regclass" => vec![
            "NULL",
            "'vibecraft.audit_logs'",
            "'pg_catalog.pg_class'",
            "'vibecraft.user_dashboard'",
            "'vibecraft.users; DROP TABLE vibecraft.orders'::regclass",
            "'no_such_table'::regclass",
        ],
        "boolean" => vec!["NULL", "true", "false"],
        // Never a real login role: the call would change its settings.
        "regrole" => vec!["NULL", "'no_such_role'::regrole", "'pg_signal_backend'"],
        other => panic!("bad_input.rs has no bad values for type {other}: add them"),
    };
    list.into_iter().map(str::to_string).collect()
}

/// A plausible value for the arguments not under test, so that calls get past the
/// first check and reach the code behind it.
fn plausible(sql_type: &str) -> &'static str {
    match sql_type {
        "text" | "character varying" => "'openai'",
        "uuid" => "'d1000000-0000-4000-8000-000000000003'",
        "integer" | "bigint" | "numeric" => "1",
        "interval" => "'1 hour'",
        "jsonb" => "'{}'",
        "timestamp with time zone" => "now() + interval '1 day'",
        "text[]" => "'{}'",
        "regclass" => "'vibecraft.feedback_tags'",
        "regrole" => "'pg_signal_backend'",
        "boolean" => "true",
        other => panic!("bad_input.rs has no plausible value for type {other}: add it"),
    }
}

struct Outcome {
    calls: usize,
    errors: usize,
    bad: Vec<String>,
}

/// Call every function with each bad value in each argument position.
fn call_everything(client: &mut Client, functions: &[(String, Vec<String>)], sign_in: Option<&str>) -> Outcome {
    let mut outcome = Outcome { calls: 0, errors: 0, bad: Vec::new() };
    for (name, args) in functions {
        let mut cases: Vec<Vec<String>> = Vec::new();
        if args.is_empty() {
            cases.push(Vec::new());
        }
        for (i, t) in args.iter().enumerate() {
            for value in bad_values(t) {
                let mut call: Vec<String> = args.iter().map(|a| plausible(a).to_string()).collect();
                call[i] = format!("({value})::{t}");
                cases.push(call);
            }
        }
        for call in cases {
            let sql = format!("SELECT vibecraft.{name}({})", call.join(", "));
            let result = match sign_in {
                None => client.batch_execute(&sql),
                Some(jwt) => client.batch_execute(&format!("BEGIN; SELECT vibecraft.authenticate('{jwt}'); {sql}; COMMIT;")),
            };
            outcome.calls += 1;
            if let Err(e) = result {
                outcome.errors += 1;
                let code = e.code().map(|c| c.code().to_string());
                let shown = sql.chars().take(160).collect::<String>();
                // Error text is for users: no Rust internals in it.
                if let Some(db_error) = e.as_db_error() {
                    let text = format!("{} {}", db_error.message(), db_error.detail().unwrap_or(""));
                    if ["pgrx", "rustc", "panicked", "std::"].iter().any(|sign| text.contains(sign)) {
                        outcome.bad.push(format!("{shown}: Rust internals in the error text: {}", text.chars().take(300).collect::<String>()));
                    }
                }
                match code.as_deref() {
                    None => outcome.bad.push(format!("{shown}: no SQLSTATE (connection lost?): {e}")),
                    Some("XX000") | Some("XX001") | Some("XX002") | Some("57014") => {
                        outcome.bad.push(format!("{shown}: {} {}", code.unwrap(), e.as_db_error().map_or("", |d| d.message())))
                    }
                    Some(_) => {}
                }
                if sign_in.is_some() {
                    let _ = client.batch_execute("ROLLBACK");
                }
            }
            // The connection is still usable after every call.
            if client.simple_query("SELECT 1").is_err() {
                outcome.bad.push(format!("connection unusable after: {}", sql.chars().take(160).collect::<String>()));
                return outcome;
            }
        }
    }
    outcome
}

#[test]
fn every_function_survives_bad_input() {
    let db = TestDb::new("bad_input");
    let mut su = db.superuser();
    su.query_one("SELECT vibecraft.seed_demo_data()", &[]).unwrap();
    let started: String = su.query_one("SELECT pg_postmaster_start_time()::text", &[]).unwrap().get(0);
    let log_path: String = su.query_one("SELECT current_setting('data_directory') || '/server.log'", &[]).unwrap().get(0);
    let log_before = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
    let tables_before: i64 = su
        .query_one("SELECT count(*) FROM pg_class WHERE relnamespace = 'vibecraft'::regnamespace AND relkind = 'r'", &[])
        .unwrap()
        .get(0);

    // Every function but trigger functions, with its argument types.
    let functions: Vec<(String, Vec<String>)> = su
        .query(
            "SELECT p.proname::text,
                    coalesce(array_agg(format_type(t.typ, NULL) ORDER BY t.ord) FILTER (WHERE t.typ IS NOT NULL), '{}')
               FROM pg_proc p
               LEFT JOIN LATERAL unnest(p.proargtypes::oid[]) WITH ORDINALITY t(typ, ord) ON true
              WHERE p.pronamespace = 'vibecraft'::regnamespace AND p.prorettype <> 'trigger'::regtype AND p.prokind = 'f'
              GROUP BY p.oid, p.proname ORDER BY p.proname, p.oid",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(functions.len() > 60, "found only {} functions", functions.len());
    su.batch_execute("SET statement_timeout = '20s'").unwrap();

    // As a superuser (past every permission check), then as a signed-in user.
    let as_superuser = call_everything(&mut su, &functions, None);
    let mut mia = db.login_as("bad_mia", &["vibecraft_authenticated"]);
    mia.batch_execute("SET statement_timeout = '20s'").unwrap();
    let jwt = token(MIA, json!({}));
    let as_user = call_everything(&mut mia, &functions, Some(&jwt));

    let calls = as_superuser.calls + as_user.calls;
    let errors = as_superuser.errors + as_user.errors;
    eprintln!(
        "bad input: {} functions, {calls} calls ({} as superuser, {} as a signed-in user), {errors} ended in a clean SQL error",
        functions.len(),
        as_superuser.calls,
        as_user.calls
    );
    let bad: Vec<_> = as_superuser.bad.iter().chain(&as_user.bad).collect();
    assert!(bad.is_empty(), "{} calls did not end cleanly:\n{}", bad.len(), bad.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"));

    // The server did not restart, nothing was dropped, and the log shows no crash.
    let mut su = db.superuser();
    let now_started: String = su.query_one("SELECT pg_postmaster_start_time()::text", &[]).unwrap().get(0);
    assert_eq!(now_started, started, "the server restarted during the bad-input run");
    let tables_after: i64 = su
        .query_one("SELECT count(*) FROM pg_class WHERE relnamespace = 'vibecraft'::regnamespace AND relkind = 'r'", &[])
        .unwrap()
        .get(0);
    assert_eq!(tables_after, tables_before, "an injection attempt dropped a table");
    let users: i64 = su.query_one("SELECT count(*) FROM vibecraft.users", &[]).unwrap().get(0);
    assert!(users >= 5, "the demo users are still there");
    let log = std::fs::read(&log_path).unwrap_or_else(|e| panic!("cannot read the server log {log_path}: {e}"));
    let new_part = String::from_utf8_lossy(&log[log_before.min(log.len() as u64) as usize..]);
    for sign in ["PANIC", "terminated by signal", "server process", "was terminated"] {
        assert!(!new_part.contains(sign), "the server log shows {sign:?} after the bad-input run");
    }
}
