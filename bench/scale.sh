#!/usr/bin/env bash
# `make bench-scale`: what a Citus cluster costs per call. pgbench against a single server
# and against the coordinator of a 3-node Citus cluster on this machine (scripts/scale.sh,
# its own ports and data), the same data in both (bench/scale/setup.sql), runs alternated
# round by round, median tps, CPU-bound (synchronous_commit off on every node) and
# durability-bound (on). Writes bench/results-scale.md; every figure is from the run that
# writes it. Needs Citus (installed, or CITUS_SOURCE) and PostgreSQL 16-18 (default 17).
#   BENCH_SECONDS (default 4) per pgbench run, BENCH_ROUNDS (default 3).
PG="${PG:-17}"
. "$(dirname "$0")/../scripts/common.sh"
cd "$PROJECT_DIR"

SECONDS_PER_RUN="${BENCH_SECONDS:-4}"
ROUNDS="${BENCH_ROUNDS:-3}"
OUT="${BENCH_OUT:-$PROJECT_DIR/bench/results-scale.md}"
CLIENTS=8
SINGLE_PORT=28843
SINGLE_DATA="$CARGO_TARGET_DIR/bench-scale-single"
CITUS_PORTS="28840 28841 28842"
CITUS_DATA="$CARGO_TARGET_DIR/bench-scale-citus"
COORDINATOR=${CITUS_PORTS%% *}
DB=vibecraft

stop_all() {
    for node in coordinator worker1 worker2; do "$PROJECT_DIR/scripts/cluster.sh" wipe "$CITUS_DATA/$node" >/dev/null 2>&1 || true; done
    "$PROJECT_DIR/scripts/cluster.sh" wipe "$SINGLE_DATA" >/dev/null 2>&1 || true
}
stop_all
trap stop_all EXIT
mkdir -p "$CITUS_DATA"
VIBECRAFT_SCALE_DATA="$CITUS_DATA" VIBECRAFT_SCALE_PORTS="$CITUS_PORTS" "$PROJECT_DIR/scripts/scale.sh" start >/dev/null
"$PROJECT_DIR/scripts/cluster.sh" start "$SINGLE_PORT" "$SINGLE_DATA"
psql_at "$SINGLE_PORT" postgres -qc "CREATE DATABASE $DB"
psql_at "$SINGLE_PORT" "$DB" -qc "SET client_min_messages = warning; CREATE EXTENSION vibecraft CASCADE"
say "loading the benchmark data into both"
for port in "$SINGLE_PORT" "$COORDINATOR"; do
    psql_at "$port" "$DB" -q -v ON_ERROR_STOP=1 -f bench/scale/setup.sql >/dev/null
done

all_ports="$SINGLE_PORT $CITUS_PORTS"
set_commit() { # set_commit on|off: on every server
    for port in $all_ports; do
        psql_at "$port" postgres -qc "ALTER SYSTEM SET synchronous_commit = $1" -c "SELECT pg_reload_conf()" >/dev/null
    done
}
tps_of() { # tps_of PORT SCRIPT
    local user
    user=$(sed -n '1s/^-- user: *//p' "bench/scale/$2.sql")
    "$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$(nproc)" -T "$SECONDS_PER_RUN" -h localhost -p "$1" -U "$user" \
        -f "bench/scale/$2.sql" "$DB" 2>&1 | awk '/^tps = / {print $3; found=1} END {if (!found) exit 1}' ||
        die "pgbench failed on bench/scale/$2.sql against port $1"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

rows=""
for mode in off on; do
    set_commit "$mode"
    for script in deduct deduct_floor rls_prompts_routed rls_prompts_floor rls_prompts; do
        tps_of "$SINGLE_PORT" "$script" >/dev/null; tps_of "$COORDINATOR" "$script" >/dev/null  # warm-up
        single="" citus=""
        for _ in $(seq "$ROUNDS"); do
            single="$single $(tps_of "$SINGLE_PORT" "$script")"
            citus="$citus $(tps_of "$COORDINATOR" "$script")"
        done
        s=$(echo "$single" | median) c=$(echo "$citus" | median)
        ratio=$(awk -v a="$c" -v b="$s" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}')
        say "$script, synchronous_commit $mode: single $s tps, 3-node $c tps ($ratio)"
        rows="$rows| $script | $mode | $(printf '%.0f' "$s") | $(printf '%.0f' "$c") | $ratio |\n"
    done
done

{
    echo "# vibecraft on Citus: per-call cost, measured"
    echo
    echo "\`make bench-scale\` on $(date -u '+%Y-%m-%d'), $(nproc) cores, $("$PGBIN/postgres" --version | sed 's/ (.*//'),"
    echo "$(psql_at "$COORDINATOR" "$DB" -Atc "SELECT 'Citus ' || extversion FROM pg_extension WHERE extname = 'citus'"):"
    echo "pgbench -M prepared, $CLIENTS clients, ${SECONDS_PER_RUN} s per run, median of $ROUNDS alternated rounds, against a"
    echo "single server and against the coordinator of a coordinator + 2 workers cluster, all on this machine, with"
    echo "the same data (bench/scale/setup.sql: 1,000 users, 20,000 prompts). Scripts: bench/scale/*.sql."
    echo
    echo "| script | synchronous_commit | single server tps | 3-node Citus tps | 3-node / single |"
    echo "| --- | --- | ---: | ---: | ---: |"
    printf "%b" "$rows"
} >"$OUT"
say "results in ${OUT#"$PROJECT_DIR"/}"
