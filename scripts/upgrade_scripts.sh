#!/usr/bin/env bash
# upgrade_scripts.sh [--check]: `make upgrade-scripts`. Builds this version's install
# script with `cargo pgrx schema` and assembles the upgrade script from the last release
# (scripts/upgrade_scripts.py says how) into sql/. With --check, assembles it into a
# scratch directory instead and prints `ok:` or `FAILED:` as it equals the committed one.
. "$(dirname "$0")/common.sh"
ensure_cargo_on_path
cd "$PROJECT_DIR"
mkdir -p "$CARGO_TARGET_DIR"
schema="$CARGO_TARGET_DIR/vibecraft-install.sql"
# Release, as `make install` builds it, so that the build is shared.
if ! cargo pgrx schema pg15 --release --pg-config "$(pg_config_of 15)" -o "$schema" >"$CARGO_TARGET_DIR/schema.log" 2>&1; then
    tail -n 40 "$CARGO_TARGET_DIR/schema.log" >&2
    die "cargo pgrx schema failed (full log: $CARGO_TARGET_DIR/schema.log)"
fi
if [ "${1:-}" != "--check" ]; then
    python3 scripts/upgrade_scripts.py "$schema" sql
    git status --short -- sql/ || true
    exit 0
fi
out="$CARGO_TARGET_DIR/upgrade-scripts"
rm -rf "$out" && mkdir -p "$out"
python3 scripts/upgrade_scripts.py "$schema" "$out"
status=0
for f in "$out"/*.sql; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    if cmp -s "$f" "sql/$name"; then
        echo "ok: sql/$name is what make upgrade-scripts generates"
    else
        echo "FAILED: sql/$name differs from what make upgrade-scripts generates (run it and commit):"
        diff -u "sql/$name" "$f" | head -n 30
        status=1
    fi
done
exit "$status"
