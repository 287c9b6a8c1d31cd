#!/usr/bin/env bash
# `make test`: every test tier from a fresh state, then one closing line
# `N passed, N failed` over all tiers; non-zero exit on any failure.
#   1. #[pg_test] tests in src/ (cargo pgrx test, its own throwaway cluster)
#   2. tests/pg_regress/sql  through PGXS pg_regress            } against a fresh scratch cluster
#   3. tests/pg_regress/specs through PGXS pg_isolation_regress } on VIBECRAFT_TEST_PORT (28816)
#   4. tests/ integration tests: a real client, non-superuser login roles
#   5. typed clients: TypeScript types with tsc --strict, the examples/ in Python, Node.js
#      and Rust (scripts/test_clients.sh)
#   6. upgrades from every release (scripts/test_upgrade.sh)
#   7. make bench in smoke mode
. "$(dirname "$0")/common.sh"
cd "$PROJECT_DIR"

LOGS="$CARGO_TARGET_DIR/test-logs"
SCRATCH="${VIBECRAFT_TEST_DATA:-$CARGO_TARGET_DIR/scratch-cluster}"
PGRX_TEST_DATA="/tmp/vibecraft-pgrx-test-$(id -u)"
PASSED=0
FAILED=0

"$PROJECT_DIR/scripts/deps.sh"
ensure_cargo_on_path
rm -rf "$LOGS"
mkdir -p "$LOGS"

count_cargo() { # count_cargo LOG EXIT_CODE TIER
    local log="$1" rc="$2" p f
    # (|| true: a tier that did not compile prints no result line, which is not an error here)
    p=$({ grep -E '^test result: ' "$log" || true; } | { grep -Eo '[0-9]+ passed' || true; } | awk '{s+=$1} END {print s+0}')
    f=$({ grep -E '^test result: ' "$log" || true; } | { grep -Eo '[0-9]+ failed' || true; } | awk '{s+=$1} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "!! $3 exited $rc before reporting a failure (see $log)"; fi
    if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ]; then f=$((f + 1)); echo "!! $3 ran no test"; fi
    PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
    echo "-- $3: $p passed, $f failed"
}

count_regress() { # count_regress LOG EXIT_CODE TIER
    local log="$1" rc="$2" p=0 f=0 line
    if line=$(grep -Eo 'All [0-9]+ tests passed' "$log" | head -n1); [ -n "$line" ]; then
        p=$(echo "$line" | grep -Eo '[0-9]+')
    elif line=$(grep -Eo '[0-9]+ of [0-9]+ tests failed' "$log" | head -n1); [ -n "$line" ]; then
        f=$(echo "$line" | awk '{print $1}')
        p=$(( $(echo "$line" | awk '{print $3}') - f ))
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "!! $3 exited $rc (see $log)"; fi
    PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
    echo "-- $3: $p passed, $f failed"
}

count_checks() { # count_checks LOG EXIT_CODE TIER: one `ok:` or `FAILED:` line per check
    local log="$1" rc="$2" p f
    p=$(grep -c '^ok: ' "$log" || true)
    f=$(grep -c '^FAILED: ' "$log" || true)
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "!! $3 exited $rc"; fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "!! $3 checked nothing"; fi
    PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
    echo "-- $3: $p passed, $f failed"
}

run_tier() { # run_tier NAME LOG -- command...
    local name="$1" log="$2"
    shift 3
    say "$name"
    set +e
    "$@" 2>&1 | tee "$log"
    TIER_RC=${PIPESTATUS[0]}
    set -e
}

# --- 1. #[pg_test] ---------------------------------------------------------------
rm -rf "$PGRX_TEST_DATA"
pgrx_args=(pg15)
if [ "$IS_ROOT" -eq 1 ]; then
    pgrx_args+=(--runas postgres --pgdata "$PGRX_TEST_DATA")
fi
unlink_installed_library
run_tier "tier 1: #[pg_test] (cargo pgrx test)" "$LOGS/pg_test.log" -- cargo pgrx test "${pgrx_args[@]}"
count_cargo "$LOGS/pg_test.log" "$TIER_RC" "#[pg_test]"

# cargo pgrx test installed its debug build; put the release build back.
"$PROJECT_DIR/scripts/install.sh"

# --- scratch cluster ---------------------------------------------------------------
# The integration tests sign their own tokens, so they need the scratch cluster's secret.
export VIBECRAFT_JWT_SECRET="test-secret-$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')"
# A published, test-only keyring, so that the suites can rotate from v1 to v2.
export VIBECRAFT_ENCRYPTION_KEYS="v1:dGVzdC1vbmx5LWtleS12MS0wMTIzNDU2Nzg5YWJjZGU="
# pg_cron, preloaded, runs its jobs in this database (tests/tests/maintenance.rs).
export VIBECRAFT_CRON_DATABASE=vibecraft_cron
"$PROJECT_DIR/scripts/cluster.sh" wipe "$SCRATCH"
"$PROJECT_DIR/scripts/cluster.sh" start "$VIBECRAFT_TEST_PORT" "$SCRATCH"
psql_at "$VIBECRAFT_TEST_PORT" postgres -qc "CREATE DATABASE $VIBECRAFT_CRON_DATABASE"
# Created now, minutes before the test schedules anything: pg_cron 1.4's scheduler can miss
# jobs scheduled in the first moments after CREATE EXTENSION (seen in a CI rehearsal: the
# jobs ran only after the next change to cron.job).
psql_at "$VIBECRAFT_TEST_PORT" "$VIBECRAFT_CRON_DATABASE" -qc "CREATE EXTENSION pg_cron"
trap '"$PROJECT_DIR/scripts/cluster.sh" stop "$SCRATCH" >/dev/null 2>&1 || true' EXIT

PGXS_TEST="$("$PG_CONFIG" --pkglibdir)/pgxs/src/test"
common_regress=(--host=localhost --port="$VIBECRAFT_TEST_PORT" --user=postgres
    --inputdir="$PROJECT_DIR/tests/pg_regress" --bindir="$PGBIN")

# --- 2. pg_regress -----------------------------------------------------------------
regress_tests=$(cd tests/pg_regress/sql && ls -1 *.sql 2>/dev/null | sed 's/\.sql$//' | sort)
rm -rf "$CARGO_TARGET_DIR/pg_regress"
mkdir -p "$CARGO_TARGET_DIR/pg_regress"
# shellcheck disable=SC2086
run_tier "tier 2: tests/pg_regress/sql (pg_regress)" "$LOGS/pg_regress.log" -- \
    "$PGXS_TEST/regress/pg_regress" "${common_regress[@]}" \
    --outputdir="$CARGO_TARGET_DIR/pg_regress" --dbname=vibecraft_regress $regress_tests
count_regress "$LOGS/pg_regress.log" "$TIER_RC" "pg_regress"
[ -f "$CARGO_TARGET_DIR/pg_regress/regression.diffs" ] && head -n 80 "$CARGO_TARGET_DIR/pg_regress/regression.diffs"

# --- 3. pg_isolation_regress -------------------------------------------------------
specs=$(cd tests/pg_regress/specs 2>/dev/null && ls -1 *.spec 2>/dev/null | sed 's/\.spec$//' | sort || true)
if [ -n "$specs" ]; then
    rm -rf "$CARGO_TARGET_DIR/pg_isolation"
    mkdir -p "$CARGO_TARGET_DIR/pg_isolation"
    # shellcheck disable=SC2086
    run_tier "tier 3: tests/pg_regress/specs (pg_isolation_regress)" "$LOGS/pg_isolation.log" -- \
        "$PGXS_TEST/isolation/pg_isolation_regress" "${common_regress[@]}" \
        --outputdir="$CARGO_TARGET_DIR/pg_isolation" --dbname=vibecraft_isolation \
        --load-extension=pg_trgm --load-extension=vibecraft $specs
    count_regress "$LOGS/pg_isolation.log" "$TIER_RC" "pg_isolation_regress"
    [ -f "$CARGO_TARGET_DIR/pg_isolation/regression.diffs" ] && head -n 80 "$CARGO_TARGET_DIR/pg_isolation/regression.diffs"
fi

# --- 4. integration tests ------------------------------------------------------------
export VIBECRAFT_TEST_DSN="host=localhost port=$VIBECRAFT_TEST_PORT user=postgres"
export VIBECRAFT_PGBIN="$PGBIN"
run_tier "tier 4: tests/ (real client, non-superuser login roles)" "$LOGS/integration.log" -- \
    cargo test -p vibecraft-integration-tests --no-fail-fast -- --show-output
count_cargo "$LOGS/integration.log" "$TIER_RC" "integration"

# --- 5. typed clients ------------------------------------------------------------------
run_tier "tier 5: typed clients (TypeScript types, examples in Python, Node.js, Rust)" "$LOGS/clients.log" -- \
    "$PROJECT_DIR/scripts/test_clients.sh" "$VIBECRAFT_TEST_PORT"
count_checks "$LOGS/clients.log" "$TIER_RC" "clients"

# --- 6. upgrades ------------------------------------------------------------------------
# Each released version, installed from its commit, upgrades to this one without losing
# a row and ends with the same catalog as a fresh install (scripts/test_upgrade.sh).
run_tier "tier 6: upgrades from every release" "$LOGS/upgrade.log" -- "$PROJECT_DIR/scripts/test_upgrade.sh" "$VIBECRAFT_TEST_PORT"
count_checks "$LOGS/upgrade.log" "$TIER_RC" "upgrades"

# --- 7. benchmark smoke run ----------------------------------------------------------
# The harness runs end to end (1 s per script, 1 round) so it cannot rot; timings are
# not asserted here. It passes when every measurement produced a row.
run_tier "tier 7: make bench, smoke mode (no timing assertions)" "$LOGS/bench_smoke.log" -- \
    env BENCH_SECONDS=1 BENCH_ROUNDS=1 BENCH_MEMORY_CALLS=2000 BENCH_OUT="$CARGO_TARGET_DIR/bench-smoke.md" \
    VIBECRAFT_BENCH_PORT="${VIBECRAFT_BENCH_SMOKE_PORT:-28819}" bash bench/run.sh
expected_rows=$(( $(grep -cv '^#' bench/measurements.tsv) + $(grep -cv '^#' bench/memory.tsv) ))
got_rows=$(grep -cE '^\| .* \| (on|off) \| |^\| [^|]+ \| [0-9]+ \| [0-9]+ \| ' "$CARGO_TARGET_DIR/bench-smoke.md" 2>/dev/null || true)
got_rows=${got_rows:-0}
if [ "$TIER_RC" -eq 0 ] && [ "$got_rows" -eq "$expected_rows" ]; then
    PASSED=$((PASSED + 1)); echo "-- bench smoke: 1 passed, 0 failed ($got_rows measurements)"
else
    FAILED=$((FAILED + 1)); echo "-- bench smoke: 0 passed, 1 failed ($got_rows of $expected_rows measurements, exit $TIER_RC)"
fi

echo
echo "logs: $LOGS"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
