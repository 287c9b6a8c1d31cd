# Shared by the scripts behind the Makefile. Sourced, not run.
#
# Works as root (CI, fresh machines: PostgreSQL runs as the `postgres` OS user) and as
# an ordinary user with sudo (PostgreSQL runs as that user; sudo only for apt and for
# installing the extension into the system's PostgreSQL directories).
set -euo pipefail

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PGBIN="/usr/lib/postgresql/15/bin"
[ -x "$PG_CONFIG" ] && PGBIN="$("$PG_CONFIG" --bindir)"
VIBECRAFT_PORT="${VIBECRAFT_PORT:-28815}"
VIBECRAFT_TEST_PORT="${VIBECRAFT_TEST_PORT:-28816}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PROJECT_DIR/target}"

if [ "$(id -u)" -eq 0 ]; then
    IS_ROOT=1
    SUDO=()
else
    IS_ROOT=0
    SUDO=(sudo)
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'vibecraft: %s\n' "$*" >&2; exit 1; }

# Run a PostgreSQL server binary as the OS user that owns the cluster.
# Run from / so that `postgres` is never left in a directory it cannot enter.
as_pg() {
    if [ "$IS_ROOT" -eq 1 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Cargo may be installed by rustup without being on PATH in a non-login shell.
ensure_cargo_on_path() {
    if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    command -v cargo >/dev/null 2>&1 ||
        die "cargo not found. Install Rust with rustup (https://rustup.rs), open a new shell, and run make again."
}

psql_at() { # psql_at PORT DB [psql args...]
    local port="$1" db="$2"
    shift 2
    "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d "$db" "$@"
}

# cargo-pgrx overwrites vibecraft.so in place; a running server that has it mapped
# (every server that preloads it) could crash. Unlinking first gives the new build a
# new inode and leaves running servers on the old one until they restart. The control
# and script files go too, so that an ordinary user can install over files root left.
unlink_installed_library() {
    local f
    for f in "$("$PG_CONFIG" --pkglibdir)/vibecraft.so" "$("$PG_CONFIG" --sharedir)"/extension/vibecraft.control \
             "$("$PG_CONFIG" --sharedir)"/extension/vibecraft--*.sql; do
        [ -e "$f" ] || continue
        if [ -w "$(dirname "$f")" ]; then rm -f "$f"; else sudo rm -f "$f"; fi
    done
}
