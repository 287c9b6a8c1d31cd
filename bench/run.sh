#!/usr/bin/env bash
# `make bench`: pgbench measurements of vibecraft against its peer and its floor.
#   BENCH_SECONDS (default 2) per pgbench run, BENCH_ROUNDS (default 5) alternating rounds,
#   BENCH_ONLY=regex to run a subset, BENCH_OUT (default bench/results.md).
# Every figure in the results file is measured in the run that writes it.
. "$(dirname "$0")/../scripts/common.sh"
cd "$PROJECT_DIR"

SECONDS_PER_RUN="${BENCH_SECONDS:-2}"
ROUNDS="${BENCH_ROUNDS:-5}"
ONLY="${BENCH_ONLY:-.}"
# Durability-bound runs: twice the rounds, half as long each (see measure below).
DURABLE_ROUNDS=$((ROUNDS * 2))
DURABLE_SECONDS=$(( SECONDS_PER_RUN >= 2 ? SECONDS_PER_RUN / 2 : SECONDS_PER_RUN ))
OUT="${BENCH_OUT:-$PROJECT_DIR/bench/results.md}"
PORT="${VIBECRAFT_BENCH_PORT:-28818}"
DATA="$CARGO_TARGET_DIR/bench-cluster-$PORT"
DB=vibecraft_bench
CLIENTS=2
# pgbench threads: one per core at most (more clients than cores share them).
THREADS=$(nproc)

"$PROJECT_DIR/scripts/deps.sh"
"$PROJECT_DIR/scripts/install.sh"
"$PROJECT_DIR/scripts/cluster.sh" wipe "$DATA"
"$PROJECT_DIR/scripts/cluster.sh" start "$PORT" "$DATA"
trap '"$PROJECT_DIR/scripts/cluster.sh" stop "$DATA" >/dev/null 2>&1 || true' EXIT
# A scratch cluster sized for the machine; durability stays on (fsync, full_page_writes).
psql_at "$PORT" postgres -q <<'SQL'
ALTER SYSTEM SET shared_buffers = '1GB';
ALTER SYSTEM SET max_wal_size = '4GB';
ALTER SYSTEM SET checkpoint_timeout = '30min';
SQL
"$PROJECT_DIR/scripts/cluster.sh" stop "$DATA" >/dev/null
"$PROJECT_DIR/scripts/cluster.sh" start "$PORT" "$DATA"

say "creating the benchmark database"
psql_at "$PORT" postgres -qc "CREATE DATABASE $DB"
psql_at "$PORT" "$DB" -q -f bench/setup.sql >/dev/null

tps_of() { # tps_of SCRIPT SYNC_COMMIT SECONDS CLIENTS
    # A script may name the role it runs as in a first-line comment: `-- user: NAME`.
    local user
    user=$(sed -n '1s/^-- user: *//p' "bench/scripts/$1.sql")
    PGOPTIONS="-c synchronous_commit=$2" "$PGBIN/pgbench" -n -M prepared -c "$4" -j "$(( $4 < THREADS ? $4 : THREADS ))" \
        -T "$3" -h localhost -p "$PORT" -U "${user:-postgres}" -f "bench/scripts/$1.sql" "$DB" 2>&1 |
        awk '/^tps = / {print $3; found=1} END {if (!found) exit 1}' ||
        die "pgbench failed on bench/scripts/$1.sql"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }

# Warm-up, not recorded: every script once, so that no measurement pays for cold
# caches, first-time plans or the checkpoint after loading the data.
say "warming up"
psql_at "$PORT" postgres -qc "CHECKPOINT"
for script in $(grep -v '^#' bench/measurements.tsv | cut -f2-4 | tr '\t' '\n' | grep -v '^-$' | sort -u); do
    tps_of "$script" off 2 "$CLIENTS" >/dev/null
done

# measure SYNC: median tps of ours, peer and floor in alternated rounds, into mo mp mf.
measure() {
    local sync="$1" o="" p="" f="" rounds=$ROUNDS secs=$SECONDS_PER_RUN r order which
    # Durability-bound runs wait on the disk, whose speed drifts over seconds: they
    # alternate twice as often with runs half as long (the same time in all), so that
    # the drift falls evenly on both sides.
    if [ "$sync" = on ]; then rounds=$DURABLE_ROUNDS secs=$DURABLE_SECONDS; fi
    for r in $(seq 1 "$rounds"); do
        # Alternate the order each round so that drift does not favour one side.
        if [ $((r % 2)) -eq 1 ]; then order="ours peer floor"; else order="floor peer ours"; fi
        for which in $order; do
            case $which in
            ours) o="$o $(tps_of "$ours" "$sync" "$secs" "$clients")" ;;
            peer) [ "$peer" = - ] || p="$p $(tps_of "$peer" "$sync" "$secs" "$clients")" ;;
            floor) f="$f $(tps_of "$floor" "$sync" "$secs" "$clients")" ;;
            esac
        done
    done
    mo=$(echo "$o" | median); mf=$(echo "$f" | median)
    if [ "$peer" = - ]; then mp=0; else mp=$(echo "$p" | median); fi
}

# verdict MODE VS_PEER VS_FLOOR MP MF: the row's targets in one mode, appended to $verdict.
verdict_of() {
    local mode="$1" vs_peer="$2" vs_floor="$3" mp="$4" mf="$5" t kind want got ceiling
    [ "$target" = - ] && return
    for t in ${target//,/ }; do
        kind="${t%%>=*}"; want="${t##*>=}"
        got=$([ "$kind" = peer ] && echo "$vs_peer" || echo "$vs_floor")
        if awk -v g="$got" -v w="$want" 'BEGIN {exit !(g >= w)}'; then
            met=$((met + 1))
        else
            verdict="$verdict${verdict:+; }**missed** ($kind ≥ $want, $mode)"; missed=$((missed + 1))
            # A function cannot beat the bare statements it must run: when even the
            # floor is less than `want` times the peer, the target is out of reach here.
            ceiling=$(ratio "$mf" "$mp")
            if [ "$kind" = peer ] && awk -v c="$ceiling" -v w="$want" 'BEGIN {exit !(c < w)}'; then
                notes+=("- $name ($mode): the target is $want× the peer, but even the floor (the bare statements, no function at all) runs only ${ceiling}× the peer: the cost is in the schema's write path, not in the function.")
            fi
        fi
    done
}

rows=()
notes=()
met=0
missed=0
while IFS=$'\t' read -r name ours peer floor clients target; do
    case "$name" in ''|'#'*) continue ;; esac
    echo "$name" | grep -Eq "$ONLY" || continue
    cells="" verdict=""
    for sync in off on; do
        say "$name ($clients clients, synchronous_commit=$sync)"
        measure "$sync"
        vs_peer=$(ratio "$mo" "$mp"); vs_floor=$(ratio "$mo" "$mf")
        mode=$([ "$sync" = off ] && echo "CPU-bound" || echo "durability-bound")
        verdict_of "$mode" "$vs_peer" "$vs_floor" "$mp" "$mf"
        if [ "$peer" = - ]; then vs_peer="-"; peer_tps="-"; else peer_tps=$(printf '%.0f' "$mp"); fi
        printf '   vibecraft %s tps, peer %s tps (%s x), floor %s tps (%s x)\n' "$mo" "$peer_tps" "$vs_peer" "$mf" "$vs_floor"
        cells="$cells $(printf '%.0f' "$mo") | $peer_tps | $(printf '%.0f' "$mf") | $vs_peer | $vs_floor |"
    done
    [ "$target" = - ] && verdict="-"
    [ -z "$verdict" ] && verdict="met (${target//>=/ ≥ })"
    rows+=("| $name | $clients | \`$ours\` / \`$peer\` / \`$floor\` |$cells $verdict |")
done < bench/measurements.tsv

# Memory: resident memory of one backend before and after BENCH_MEMORY_CALLS calls (after
# a warm-up of a tenth as many), read from /proc/self/status by the backend itself.
CALLS="${BENCH_MEMORY_CALLS:-100000}"
memory_rows=()
# RssAnon: the backend's private memory (malloc and palloc), not the shared buffers it maps.
rss_kb() { echo "SELECT (regexp_match(pg_read_file('/proc/self/status'), 'RssAnon:\\s+(\\d+)'))[1];"; }
while IFS=$'\t' read -r name statement; do
    case "$name" in ''|'#'*) continue ;; esac
    say "memory: $name ($CALLS calls)"
    # A COMMIT every 1,000 calls: what a transaction rightly holds until its end (its
    # trigger queue, locks) must not pass for a leak.
    loop() { echo "DO \$m\$ BEGIN FOR i IN 1..$1 LOOP $statement IF i % 1000 = 0 THEN COMMIT; END IF; END LOOP; END \$m\$;"; }
    out=$(psql_at "$PORT" "$DB" -qAt <<SQL
SET synchronous_commit = off;
$(loop $((CALLS / 10)))
$(rss_kb)
$(loop "$CALLS")
$(rss_kb)
SQL
) || die "memory measurement failed: $name"
    before=$(echo "$out" | sed -n 1p); after=$(echo "$out" | sed -n 2p)
    growth=$(awk -v a="$after" -v b="$before" 'BEGIN {printf "%.1f", (a - b) * 1024 / '"$CALLS"'}')
    echo "   private memory $before kB after warm-up, $after kB after $CALLS more calls ($growth bytes per call)"
    memory_rows+=("| $name | $before | $after | $growth |")
done < bench/memory.tsv

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
{
    echo "# vibecraft benchmark results"
    echo
    echo "Measured by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) cores ($cpu), $(free -g | awk '/^Mem/ {print $2}') GiB,"
    echo "$("$PGBIN/postgres" --version), vibecraft $(grep -m1 '^version' Cargo.toml | cut -d'"' -f2) release build."
    echo "pgbench -M prepared, ${SECONDS_PER_RUN} s per run, $ROUNDS alternating rounds (vibecraft, peer, floor; the order reversed"
    echo "every other round), median tps; durability-bound (synchronous_commit=on): $DURABLE_ROUNDS rounds of $DURABLE_SECONDS s, so that"
    echo "the disk's drift falls evenly on all sides. shared_buffers 1GB, fsync on. Throughput in transactions per"
    echo "second (higher is better); every row in both modes. The floor is the bare SQL doing the same reads"
    echo "and writes as the function, without it; the peer is what a team following the source documents"
    echo "would write (bench/peers/). Command: \`make bench\` (bench/run.sh, rows in bench/measurements.tsv)."
    echo
    echo "| measurement | clients | scripts: vibecraft / peer / floor (bench/scripts) | CPU-bound tps | peer | floor | vs peer | vs floor | durability-bound tps | peer | floor | vs peer | vs floor | targets |"
    echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Targets (each in both modes): $met met, $missed missed."
    echo
    echo "## Memory"
    echo
    echo "Private resident memory (RssAnon) of one backend after a warm-up of $((CALLS / 10)) calls, and after $CALLS"
    echo "more calls in the same backend (a PL/pgSQL loop committing every 1,000 calls; bench/memory.tsv)."
    echo "Growth near zero bytes per call means no leak."
    echo
    echo "| function | kB after warm-up | kB after $CALLS calls | growth, bytes per call |"
    echo "| --- | ---: | ---: | ---: |"
    printf '%s\n' "${memory_rows[@]}"
    if [ "${#notes[@]}" -gt 0 ]; then
        echo
        echo "Targets out of reach on this machine (computed from the figures above):"
        printf '%s\n' "${notes[@]}"
    fi
} >"$OUT"
say "wrote $OUT ($met targets met, $missed missed)"
