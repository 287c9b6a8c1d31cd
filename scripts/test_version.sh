#!/usr/bin/env bash
# test_version.sh full|core: the test tiers on the PostgreSQL version PG names, against a
# fresh scratch cluster of that version (scripts/test.sh runs it once per version).
#   1. #[pg_test] tests in src/ (cargo pgrx test, its own throwaway cluster)
#   2. tests/pg_regress/sql  through PGXS pg_regress            } against a fresh scratch cluster
#   3. tests/pg_regress/specs through PGXS pg_isolation_regress } on VIBECRAFT_TEST_PORT (28816)
#   4. tests/ integration tests: a real client, non-superuser login roles
#   --- `full` only:
#   5. typed clients: TypeScript types with tsc --strict, the examples/ in Python, Node.js
#      and Rust (scripts/test_clients.sh)
#   6. upgrades from every release (scripts/test_upgrade.sh)
#   7. make bench in smoke mode
#   8. a Supabase-shaped database driven as PostgREST and GoTrue drive it (tests/tests/supabase.rs)
#   9. a read replica: a streaming hot standby of the scratch cluster (tests/tests/replica.rs)
#  10. Citus (PostgreSQL 16-18): a coordinator and two workers made by scripts/scale.sh
#      (tests/tests/citus.rs); needs Citus installed or CITUS_SOURCE, else skipped and said so
# Each tier appends `TIER (SECONDS s) PASSED FAILED` to $VIBECRAFT_TEST_SUMMARY; exit non-zero on any failure.
. "$(dirname "$0")/common.sh"
cd "$PROJECT_DIR"
scope="${1:-full}"

LOGS="$CARGO_TARGET_DIR/test-logs/pg$PG"
OUTPUT="$CARGO_TARGET_DIR/test-output/pg$PG"
SCRATCH="${VIBECRAFT_TEST_DATA:-$EXT_TARGET_DIR/scratch-cluster}"
PGRX_TEST_DATA="/tmp/vibecraft-pgrx-test-$(id -u)-pg$PG"
SUMMARY="${VIBECRAFT_TEST_SUMMARY:-$LOGS/summary}"
PASSED=0
FAILED=0

"$PROJECT_DIR/scripts/deps.sh"
ensure_cargo_on_path
rm -rf "$LOGS" "$OUTPUT"
mkdir -p "$LOGS" "$OUTPUT"

TIER_STARTED=$(date +%s)
record() { # record TIER PASSED FAILED: with the seconds since the tier (or the build before it) began
    local seconds=$(( $(date +%s) - TIER_STARTED ))
    PASSED=$((PASSED + $2)); FAILED=$((FAILED + $3))
    echo "-- pg$PG $1: $2 passed, $3 failed (${seconds} s)"
    echo "$1 (${seconds} s) $2 $3" >>"$SUMMARY"
    TIER_STARTED=$(date +%s)
}

count_cargo() { # count_cargo LOG EXIT_CODE TIER
    local log="$1" rc="$2" p f
    # (|| true: a tier that did not compile prints no result line, which is not an error here)
    p=$({ grep -E '^test result: ' "$log" || true; } | { grep -Eo '[0-9]+ passed' || true; } | awk '{s+=$1} END {print s+0}')
    f=$({ grep -E '^test result: ' "$log" || true; } | { grep -Eo '[0-9]+ failed' || true; } | awk '{s+=$1} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "!! $3 exited $rc before reporting a failure (see $log)"; fi
    if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ]; then f=$((f + 1)); echo "!! $3 ran no test"; fi
    record "$3" "$p" "$f"
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
    record "$3" "$p" "$f"
}

count_checks() { # count_checks LOG EXIT_CODE TIER: one `ok:` or `FAILED:` line per check
    local log="$1" rc="$2" p f
    p=$(grep -c '^ok: ' "$log" || true)
    f=$(grep -c '^FAILED: ' "$log" || true)
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "!! $3 exited $rc"; fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "!! $3 checked nothing"; fi
    record "$3" "$p" "$f"
}

# When a tier against the scratch cluster fails, what the server said about it: a backend
# that died (crash restart), ran out of memory or was terminated explains failures that
# the client only sees as a closed connection.
show_server_alarms() { # show_server_alarms DATADIR
    local log="$1/server.log" alarms
    [ -f "$log" ] || return 0
    alarms=$(grep -E 'terminated by signal|was terminated|PANIC|out of memory|server process .* exited|terminating connection because of crash|immediate shutdown' "$log" | tail -n 20 || true)
    [ -z "$alarms" ] || { echo "!! the server's log ($log) says:"; echo "$alarms"; }
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
pgrx_args=("pg$PG" "${PGRX_FEATURES[@]}")
if [ "$IS_ROOT" -eq 1 ]; then
    pgrx_args+=(--runas postgres --pgdata "$PGRX_TEST_DATA")
fi
unlink_installed_library
run_tier "pg$PG tier 1: #[pg_test] (cargo pgrx test)" "$LOGS/pg_test.log" -- \
    env CARGO_TARGET_DIR="$EXT_TARGET_DIR" cargo pgrx test "${pgrx_args[@]}"
count_cargo "$LOGS/pg_test.log" "$TIER_RC" "#[pg_test]"

# cargo pgrx test installed its debug build; put the release build back.
"$PROJECT_DIR/scripts/install.sh"

# --- scratch cluster ---------------------------------------------------------------
# The integration tests sign their own tokens, so they need the scratch cluster's secret.
export VIBECRAFT_JWT_SECRET="test-secret-$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')"
# A published, test-only keyring, so that the suites can rotate from v1 to v2.
export VIBECRAFT_ENCRYPTION_KEYS="v1:dGVzdC1vbmx5LWtleS12MS0wMTIzNDU2Nzg5YWJjZGU="
# pg_cron, preloaded, runs its jobs in this database (tests/tests/maintenance.rs). Only
# Debian's PostgreSQL 15 has pg_cron here; elsewhere the one test that needs it is skipped
# by name (and said so below).
cron_skip=()
if [ -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
    export VIBECRAFT_CRON_DATABASE=vibecraft_cron
else
    unset VIBECRAFT_CRON_DATABASE
    cron_skip=(--skip pg_cron_runs_the_scheduled_maintenance)
fi
"$PROJECT_DIR/scripts/cluster.sh" wipe "$SCRATCH"
"$PROJECT_DIR/scripts/cluster.sh" start "$VIBECRAFT_TEST_PORT" "$SCRATCH"
if [ -n "${VIBECRAFT_CRON_DATABASE:-}" ]; then
    psql_at "$VIBECRAFT_TEST_PORT" postgres -qc "CREATE DATABASE $VIBECRAFT_CRON_DATABASE"
    # Created now, minutes before the test schedules anything: pg_cron 1.4's scheduler can
    # miss jobs scheduled in the first moments after CREATE EXTENSION (seen in a CI
    # rehearsal: the jobs ran only after the next change to cron.job).
    psql_at "$VIBECRAFT_TEST_PORT" "$VIBECRAFT_CRON_DATABASE" -qc "CREATE EXTENSION pg_cron"
fi
trap '"$PROJECT_DIR/scripts/cluster.sh" stop "$SCRATCH" >/dev/null 2>&1 || true' EXIT

PGXS_TEST="$("$PG_CONFIG" --pkglibdir)/pgxs/src/test"
common_regress=(--host=localhost --port="$VIBECRAFT_TEST_PORT" --user=postgres
    --inputdir="$PROJECT_DIR/tests/pg_regress" --bindir="$PGBIN")

# --- 2. pg_regress -----------------------------------------------------------------
regress_tests=$(cd tests/pg_regress/sql && ls -1 *.sql 2>/dev/null | sed 's/\.sql$//' | sort)
mkdir -p "$OUTPUT/pg_regress"
# shellcheck disable=SC2086
run_tier "pg$PG tier 2: tests/pg_regress/sql (pg_regress)" "$LOGS/pg_regress.log" -- \
    "$PGXS_TEST/regress/pg_regress" "${common_regress[@]}" \
    --outputdir="$OUTPUT/pg_regress" --dbname=vibecraft_regress $regress_tests
count_regress "$LOGS/pg_regress.log" "$TIER_RC" "pg_regress"
[ "$TIER_RC" -eq 0 ] || show_server_alarms "$SCRATCH"
[ -f "$OUTPUT/pg_regress/regression.diffs" ] && head -n 80 "$OUTPUT/pg_regress/regression.diffs"

# --- 3. pg_isolation_regress -------------------------------------------------------
specs=$(cd tests/pg_regress/specs 2>/dev/null && ls -1 *.spec 2>/dev/null | sed 's/\.spec$//' | sort || true)
if [ -n "$specs" ]; then
    mkdir -p "$OUTPUT/pg_isolation"
    # shellcheck disable=SC2086
    run_tier "pg$PG tier 3: tests/pg_regress/specs (pg_isolation_regress)" "$LOGS/pg_isolation.log" -- \
        "$PGXS_TEST/isolation/pg_isolation_regress" "${common_regress[@]}" \
        --outputdir="$OUTPUT/pg_isolation" --dbname=vibecraft_isolation \
        --load-extension=pg_trgm --load-extension=vibecraft $specs
    count_regress "$LOGS/pg_isolation.log" "$TIER_RC" "pg_isolation_regress"
    [ -f "$OUTPUT/pg_isolation/regression.diffs" ] && head -n 80 "$OUTPUT/pg_isolation/regression.diffs"
fi

# --- 4. integration tests ------------------------------------------------------------
export VIBECRAFT_TEST_DSN="host=localhost port=$VIBECRAFT_TEST_PORT user=postgres"
export VIBECRAFT_PGBIN="$PGBIN"
# The Supabase-shaped tests (tier 8), the replica tests (tier 9) and the Citus tests (tier 10)
# are left to their own tiers.
run_tier "pg$PG tier 4: tests/ (real client, non-superuser login roles)" "$LOGS/integration.log" -- \
    cargo test -p vibecraft-integration-tests --no-fail-fast -- --show-output --skip supabase_ --skip replica_ --skip citus_ "${cron_skip[@]}"
count_cargo "$LOGS/integration.log" "$TIER_RC" "integration"
[ "$TIER_RC" -eq 0 ] || show_server_alarms "$SCRATCH"
[ "${#cron_skip[@]}" -eq 0 ] || echo "   (pg_cron_runs_the_scheduled_maintenance skipped: this server has no pg_cron; it runs on 15)"

if [ "$scope" != full ]; then
    echo "pg$PG: $PASSED passed, $FAILED failed (tiers 1-4; the others run on 15 and 17)"
    [ "$FAILED" -eq 0 ]
    exit
fi

# --- 5. typed clients ------------------------------------------------------------------
run_tier "pg$PG tier 5: typed clients (TypeScript types, examples in Python, Node.js, Rust)" "$LOGS/clients.log" -- \
    "$PROJECT_DIR/scripts/test_clients.sh" "$VIBECRAFT_TEST_PORT"
count_checks "$LOGS/clients.log" "$TIER_RC" "clients"

# --- 6. upgrades ------------------------------------------------------------------------
# Each released version, installed from its commit, upgrades to this one without losing
# a row and ends with the same catalog as a fresh install (scripts/test_upgrade.sh).
run_tier "pg$PG tier 6: upgrades from every release" "$LOGS/upgrade.log" -- "$PROJECT_DIR/scripts/test_upgrade.sh" "$VIBECRAFT_TEST_PORT"
count_checks "$LOGS/upgrade.log" "$TIER_RC" "upgrades"

# --- 7. benchmark smoke run ----------------------------------------------------------
# The harness runs end to end (1 s per script, 1 round) so it cannot rot; timings are
# not asserted here. It passes when every measurement produced a row.
run_tier "pg$PG tier 7: make bench, smoke mode (no timing assertions)" "$LOGS/bench_smoke.log" -- \
    env BENCH_SECONDS=1 BENCH_ROUNDS=1 BENCH_MEMORY_CALLS=2000 BENCH_OUT="$OUTPUT/bench-smoke.md" \
    VIBECRAFT_BENCH_PORT="${VIBECRAFT_BENCH_SMOKE_PORT:-28819}" bash bench/run.sh
expected_rows=$(( $(grep -cv '^#' bench/measurements.tsv) + $(grep -cv '^#' bench/memory.tsv) ))
# (a measurement row: | name | clients | `scripts` |...; a memory row: | name | kB | kB |...)
got_rows=$(grep -cE '^\| [^|]+ \| [0-9]+ \| `|^\| [^|]+ \| [0-9]+ \| [0-9]+ \| ' "$OUTPUT/bench-smoke.md" 2>/dev/null || true)
got_rows=${got_rows:-0}
if [ "$TIER_RC" -eq 0 ] && [ "$got_rows" -eq "$expected_rows" ]; then
    record "bench smoke" 1 0; echo "   ($got_rows measurements)"
else
    record "bench smoke" 0 1; echo "   ($got_rows of $expected_rows measurements, exit $TIER_RC)"
fi

# --- 8. Supabase ---------------------------------------------------------------------
# A database built as Supabase's image builds one (its roles, auth.users, auth.uid()),
# with vibecraft tied to auth.users, driven as GoTrue and PostgREST drive it.
run_tier "pg$PG tier 8: a Supabase-shaped database (tests/tests/supabase.rs)" "$LOGS/supabase.log" -- \
    cargo test -p vibecraft-integration-tests --no-fail-fast --test supabase -- --show-output
count_cargo "$LOGS/supabase.log" "$TIER_RC" "supabase"
[ "$TIER_RC" -eq 0 ] || show_server_alarms "$SCRATCH"

# --- 9. a read replica -------------------------------------------------------------------
# A hot standby copied from the scratch cluster with pg_basebackup, streaming from it; the
# tests write on the primary and read (or try to write) on the standby.
REPLICA_PORT="${VIBECRAFT_REPLICA_PORT:-28817}"
REPLICA_DATA="$EXT_TARGET_DIR/replica-cluster"
"$PROJECT_DIR/scripts/cluster.sh" wipe "$REPLICA_DATA" >/dev/null 2>&1 || true
run_tier "pg$PG tier 9: a read replica (tests/tests/replica.rs)" "$LOGS/replica.log" -- \
    bash -c '"$1/scripts/cluster.sh" standby "$2" "$3" "$4" &&
             VIBECRAFT_REPLICA_DSN="host=localhost port=$3 user=postgres" \
             cargo test -p vibecraft-integration-tests --no-fail-fast --test replica -- --show-output' \
    _ "$PROJECT_DIR" "$VIBECRAFT_TEST_PORT" "$REPLICA_PORT" "$REPLICA_DATA"
count_cargo "$LOGS/replica.log" "$TIER_RC" "replica"
"$PROJECT_DIR/scripts/cluster.sh" wipe "$REPLICA_DATA" >/dev/null 2>&1 || true

# --- 10. Citus ------------------------------------------------------------------------
# The cluster `make scale` makes, on ports and in a directory of its own, with this run's
# secrets; stopped and deleted afterwards.
if [ "$PG" = 15 ]; then
    echo "   (tier 10, Citus: Citus 14 runs on PostgreSQL 16-18; it runs on 17)"
elif [ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ] && [ -z "${CITUS_SOURCE:-}" ]; then
    echo "   (tier 10, Citus, SKIPPED: PostgreSQL $PG has no Citus and CITUS_SOURCE names no source tarball)"
else
    CITUS_DATA="$EXT_TARGET_DIR/citus-cluster"
    read -r -a CITUS_PORTS <<<"${VIBECRAFT_CITUS_TEST_PORTS:-28833 28834 28835}"
    for node in coordinator worker1 worker2; do
        "$PROJECT_DIR/scripts/cluster.sh" wipe "$CITUS_DATA/$node" >/dev/null 2>&1 || true
    done
    mkdir -p "$CITUS_DATA"
    (umask 077 && printf 'VIBECRAFT_JWT_SECRET=%s\nVIBECRAFT_ENCRYPTION_KEYS=%s\n' \
        "$VIBECRAFT_JWT_SECRET" "$VIBECRAFT_ENCRYPTION_KEYS" >"$CITUS_DATA/dev-secrets")
    run_tier "pg$PG tier 10: Citus, a coordinator and two workers (tests/tests/citus.rs)" "$LOGS/citus.log" -- \
        bash -c 'VIBECRAFT_SCALE_DATA="$2" VIBECRAFT_SCALE_PORTS="$3" "$1/scripts/scale.sh" start &&
                 VIBECRAFT_CITUS_DSN="host=localhost port=${3%% *} user=postgres dbname=vibecraft" VIBECRAFT_CITUS_DATA="$2" \
                 cargo test -p vibecraft-integration-tests --no-fail-fast --test citus -- --show-output --test-threads=1' \
        _ "$PROJECT_DIR" "$CITUS_DATA" "${CITUS_PORTS[*]}"
    count_cargo "$LOGS/citus.log" "$TIER_RC" "citus"
    for node in coordinator worker1 worker2; do
        "$PROJECT_DIR/scripts/cluster.sh" wipe "$CITUS_DATA/$node" >/dev/null 2>&1 || true
    done
fi

echo "pg$PG: $PASSED passed, $FAILED failed (logs: $LOGS)"
[ "$FAILED" -eq 0 ]
