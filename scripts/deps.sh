#!/usr/bin/env bash
# Install whatever is missing to build and run vibecraft, idempotently:
# Debian packages, cargo-pgrx 0.18.1, and `cargo pgrx init` against PostgreSQL 15.
. "$(dirname "$0")/common.sh"

PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib postgresql-15-cron libclang-dev clang sudo pkg-config acl)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null || die "apt-get not found: vibecraft's make targets expect Debian 12. Install ${missing[*]} by hand."
    if [ "$IS_ROOT" -eq 0 ] && ! command -v sudo >/dev/null; then
        die "missing packages (${missing[*]}) and no sudo: run 'make' as root once, or install them."
    fi
    say "installing Debian packages: ${missing[*]}"
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -x "$PG_CONFIG" ] || die "no pg_config at $PG_CONFIG; set PG_CONFIG=/path/to/pg_config of a PostgreSQL 15 server."

ensure_cargo_on_path
if [ "$(cargo pgrx --version 2>/dev/null || true)" != "cargo-pgrx 0.18.1" ]; then
    say "installing cargo-pgrx 0.18.1 (about 4 minutes on 2 cores, once)"
    cargo install cargo-pgrx --version 0.18.1 --locked --quiet
fi

PGRX_CONFIG="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if ! grep -qs '^pg15 *= *"'"$PG_CONFIG"'"' "$PGRX_CONFIG"; then
    say "cargo pgrx init --pg15 $PG_CONFIG"
    cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null
fi

# An ordinary user installs into the system's PostgreSQL directories (cargo pgrx test
# does so without a --sudo option), so give that user write access to exactly those two
# directories, as pgrx's documentation advises for a distribution's PostgreSQL.
if [ "$IS_ROOT" -eq 0 ]; then
    for dir in "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)/extension"; do
        if [ ! -w "$dir" ]; then
            say "granting $(id -un) write access to $dir (extension install directory)"
            sudo setfacl -m "u:$(id -un):rwx" "$dir"
        fi
    done
fi
