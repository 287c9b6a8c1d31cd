#!/usr/bin/env bash
# `make bench`: bench/run.sh on each PostgreSQL version of BENCH_VERSIONS (default "15 17",
# Supabase's; `make bench PG=17` runs one), each version's full results in
# bench/results-pgNN.md, and bench/results.md with their ratios side by side. Only
# ratios are compared: each comes from one version's own run (A and B alternated on the
# same cluster), while throughputs of two runs are not comparable on a noisy machine.
REQUESTED_PG="${PG:-}"
. "$(dirname "$0")/../scripts/common.sh"
cd "$PROJECT_DIR"
versions="${BENCH_VERSIONS:-${REQUESTED_PG:-15 17}}"

for v in $versions; do
    say "make bench on PostgreSQL $v"
    PG="$v" PG_CONFIG="" BENCH_OUT="$PROJECT_DIR/bench/results-pg$v.md" bash bench/run.sh
done

# The ratio columns (vs peer, vs floor, CPU-bound then durability-bound) and the verdict
# of each row, by measurement name.
ratios() { # ratios FILE: name<TAB>clients<TAB>4 ratios<TAB>targets
    awk -F' \\| ' '/^\| / && NF >= 14 && $2 ~ /^[0-9]+$/ {
        name = $1; sub(/^\| /, "", name); target = $14; sub(/ \|$/, "", target)
        print name "\t" $2 "\t" $7 " | " $8 " | " $12 " | " $13 "\t" target }' "$1"
}
{
    echo "# vibecraft benchmark results, side by side"
    echo
    echo "\`make bench\` on $(date -u '+%Y-%m-%d'): one run per version, each measured as bench/run.sh describes"
    echo "(pgbench -M prepared, vibecraft, peer and floor alternated, median tps, every row CPU-bound with"
    echo "synchronous_commit off and durability-bound with it on). Ratios only: a ratio comes from one"
    echo "version's own run; throughputs of two runs are not comparable on this machine."
    echo "Each version's figures, tps included, are in its own file:"
    for v in $versions; do echo "[PostgreSQL $v](results-pg$v.md): $(sed -n 's/^\(postgres (PostgreSQL) [^,]*\),.*/\1/p' "bench/results-pg$v.md")."; done
    echo
    header="| measurement | clients |" line="| --- | ---: |"
    for v in $versions; do
        header="$header pg$v CPU vs peer | vs floor | durable vs peer | vs floor | pg$v targets |"
        line="$line ---: | ---: | ---: | ---: | --- |"
    done
    echo "$header"
    echo "$line"
    first=$(echo "$versions" | awk '{print $1}')
    while IFS=$'\t' read -r name clients _ _; do
        row="| $name | $clients |"
        for v in $versions; do
            cells=$(ratios "bench/results-pg$v.md" | awk -F'\t' -v n="$name" -v c="$clients" '$1 == n && $2 == c {print $3 " | " $4; exit}')
            row="$row ${cells:-- | - | - | - | -} |"
        done
        echo "$row"
    done < <(ratios "bench/results-pg$first.md")
    echo
    for v in $versions; do echo "PostgreSQL $v: $(grep -m1 '^Targets' "bench/results-pg$v.md")"; done
    echo
    echo "Why the rows that miss a target miss it, with the profiles that show the remaining cost:"
    echo "[docs/development.md, section 5](../docs/development.md#5-the-benchmark)."
} >bench/results.md
say "wrote bench/results.md"
