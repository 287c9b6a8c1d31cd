#!/usr/bin/env bash
# Install whatever is missing to build and run vibecraft, idempotently:
# Debian packages, cargo-pgrx 0.18.1, the PostgreSQL server PG names (15: Debian's,
# 16-18: scripts/postgres.sh) and `cargo pgrx init` against it.
. "$(dirname "$0")/common.sh"

PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib postgresql-15-cron libclang-dev clang sudo pkg-config acl unzip)

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
[ "$PG" = 15 ] || "$PROJECT_DIR/scripts/postgres.sh" "$PG" >/dev/null
[ -x "$PG_CONFIG" ] || die "no pg_config at $PG_CONFIG; set PG=15..18, or PG_CONFIG=/path/to/pg_config."

ensure_cargo_on_path
if [ "$(cargo pgrx --version 2>/dev/null || true)" != "cargo-pgrx 0.18.1" ]; then
    say "installing cargo-pgrx 0.18.1 (about 4 minutes on 2 cores, once)"
    cargo install cargo-pgrx --version 0.18.1 --locked --quiet
fi

# pgrx knows each server by its pg_config; `init` rewrites the whole list, so it is given
# every version it already knew as well as this one.
PGRX_CONFIG="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if ! grep -qs '^pg'"$PG"' *= *"'"$PG_CONFIG"'"' "$PGRX_CONFIG" || ! grep -qs '^pg15 *= ' "$PGRX_CONFIG"; then
    init_args=()
    for v in 15 16 17 18; do
        if [ "$v" = "$PG" ]; then
            init_args+=("--pg$v" "$PG_CONFIG")
        elif [ "$v" = 15 ]; then # always known: release and upgrade scripts are generated with it
            init_args+=("--pg15" "$(pg_config_of 15)")
        elif known=$(sed -nE 's/^pg'"$v"' *= *"(.*)"$/\1/p' "$PGRX_CONFIG" 2>/dev/null) && [ -x "$known" ]; then
            init_args+=("--pg$v" "$known")
        fi
    done
    say "cargo pgrx init ${init_args[*]}"
    cargo pgrx init "${init_args[@]}" >/dev/null
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
