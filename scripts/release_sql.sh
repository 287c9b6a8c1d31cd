#!/usr/bin/env bash
# release_sql.sh VERSION: print the path of the install script of a released vibecraft
# version (sql/releases), generating it once from that commit with `cargo pgrx schema`.
# The old source is exported with `git archive`; it builds in its own target directory.
. "$(dirname "$0")/common.sh"
ensure_cargo_on_path
version="$1"
commit=$(awk -v v="$version" '$1 == v {print $2}' "$PROJECT_DIR/sql/releases")
[ -n "$commit" ] || die "version $version is not in sql/releases"
out="$CARGO_TARGET_DIR/releases/vibecraft--$version.sql"
if [ ! -s "$out" ]; then
    git -C "$PROJECT_DIR" cat-file -e "$commit^{commit}" 2>/dev/null ||
        die "commit $commit of release $version is not in this clone (a shallow clone?); fetch the full history"
    src="$CARGO_TARGET_DIR/releases/src-$version"
    rm -rf "$src" && mkdir -p "$src"
    git -C "$PROJECT_DIR" archive "$commit" | tar -x -C "$src"
    say "building release $version ($commit) to generate its install script"
    (cd "$src" && CARGO_TARGET_DIR="$CARGO_TARGET_DIR/releases/target" \
        cargo pgrx schema pg15 --pg-config "$(pg_config_of 15)" -o "$out.tmp" >"$CARGO_TARGET_DIR/releases/build-$version.log" 2>&1) ||
        { tail -n 40 "$CARGO_TARGET_DIR/releases/build-$version.log" >&2; die "building release $version failed"; }
    mv "$out.tmp" "$out"
fi
echo "$out"
