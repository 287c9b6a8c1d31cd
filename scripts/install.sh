#!/usr/bin/env bash
# Build vibecraft in release mode and install it into the PostgreSQL that PG names
# (common.sh): 15 by default, Debian's.
. "$(dirname "$0")/common.sh"
ensure_cargo_on_path
say "building and installing vibecraft (release) into $("$PG_CONFIG" --sharedir)/extension"
cd "$PROJECT_DIR"
mkdir -p "$CARGO_TARGET_DIR"
log="$CARGO_TARGET_DIR/install-pg$PG.log"
unlink_installed_library
set +e
CARGO_TARGET_DIR="$EXT_TARGET_DIR" cargo pgrx install --release --pg-config "$PG_CONFIG" "${PGRX_FEATURES[@]}" >"$log" 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    tail -n 60 "$log" >&2
    die "building or installing vibecraft failed (full log: $log)"
fi
grep -E 'Finished|Installing extension' "$log" | sed 's/^ */    /' || true
