#!/usr/bin/env bash
# `make scale`: a local Citus cluster with vibecraft, on this machine: a coordinator and two
# workers (VIBECRAFT_SCALE_PORTS, default "28830 28831 28832"), data under .pgdata-scale/,
# on PostgreSQL PG (16 to 18, Citus 14's range; default 17). `make scale-stop` stops them.
#   scale.sh start | stop
# Citus comes from the server's own installation when it has one; otherwise it is built
# from the source tarball CITUS_SOURCE names (CI passes Citus 14's). A DBA installs Citus
# from their distribution's or Citus' packages instead (docs/scale-out.md).
# The three nodes share one development JWT secret and keyring, generated once and kept
# in .pgdata-scale/dev-secrets (readable by its owner only), as `make run`'s cluster has its own.
PG="${PG:-17}"
. "$(dirname "$0")/common.sh"
cd "$PROJECT_DIR"
case "$PG" in 16|17|18) ;; *) die "Citus 14 runs on PostgreSQL 16, 17 or 18: use PG=16, 17 or 18" ;; esac

cmd="${1:-start}"
read -r -a PORTS <<<"${VIBECRAFT_SCALE_PORTS:-28830 28831 28832}"
[ "${#PORTS[@]}" -eq 3 ] || die "VIBECRAFT_SCALE_PORTS needs three ports: the coordinator's, then two workers'"
DATA_ROOT="${VIBECRAFT_SCALE_DATA:-$PROJECT_DIR/.pgdata-scale}"
NODES=(coordinator worker1 worker2)
DB=vibecraft

if [ "$cmd" = stop ]; then
    for node in "${NODES[@]}"; do
        [ -e "$DATA_ROOT/$node" ] && "$PROJECT_DIR/scripts/cluster.sh" stop "$DATA_ROOT/$node"
    done
    exit 0
fi
[ "$cmd" = start ] || die "usage: scale.sh start | stop"

"$PROJECT_DIR/scripts/deps.sh"

# --- Citus -------------------------------------------------------------------------------
if [ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
    [ -n "${CITUS_SOURCE:-}" ] ||
        die "PostgreSQL $PG has no Citus: install it from your packages, or set CITUS_SOURCE=/path/to/citus-14.x.tar.gz to build it"
    [ -f "$CITUS_SOURCE" ] || die "CITUS_SOURCE=$CITUS_SOURCE: no such file"
    packages=(liblz4-dev libzstd-dev libkrb5-dev libcurl4-openssl-dev)
    missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing Debian packages Citus builds with: ${missing[*]}"
        "${SUDO[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    build="$CARGO_TARGET_DIR/citus-build-pg$PG"
    say "building Citus from $CITUS_SOURCE for PostgreSQL $PG (a few minutes, once)"
    rm -rf "$build" && mkdir -p "$build"
    tar -xzf "$CITUS_SOURCE" -C "$build" --strip-components=1
    (cd "$build" && ./configure PG_CONFIG="$PG_CONFIG" >"$build/configure.log" 2>&1 &&
        make -j"$(nproc)" >"$build/make.log" 2>&1 && "${SUDO[@]}" make install >"$build/install.log" 2>&1) ||
        die "the Citus build failed (logs in $build)"
fi

"$PROJECT_DIR/scripts/install.sh"

# --- the three nodes -----------------------------------------------------------------------
mkdir -p "$DATA_ROOT"
secrets="$DATA_ROOT/dev-secrets"
if [ ! -f "$secrets" ]; then
    (umask 077 && printf 'VIBECRAFT_JWT_SECRET=%s\nVIBECRAFT_ENCRYPTION_KEYS=v1:%s\n' \
        "$(head -c 32 /dev/urandom | base64 | tr -d '\n')" "$(head -c 32 /dev/urandom | base64 | tr -d '\n')" >"$secrets")
fi
set -a; . "$secrets"; set +a
for i in 0 1 2; do
    VIBECRAFT_PRELOAD_FIRST=citus "$PROJECT_DIR/scripts/cluster.sh" start "${PORTS[$i]}" "$DATA_ROOT/${NODES[$i]}"
    if [ "$(psql_at "${PORTS[$i]}" postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 0 ]; then
        psql_at "${PORTS[$i]}" postgres -qc "CREATE DATABASE $DB"
    fi
    psql_at "${PORTS[$i]}" "$DB" -qc "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS citus"
done

# The coordinator knows itself and its workers (each call only when not done yet).
psql_at "${PORTS[0]}" "$DB" -q <<SQL >/dev/null
SET client_min_messages = warning;
SELECT citus_set_coordinator_host('localhost', ${PORTS[0]})
 WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid = 0);
SELECT citus_add_node('localhost', p)
  FROM unnest(ARRAY[${PORTS[1]}, ${PORTS[2]}]) p
 WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodename = 'localhost' AND nodeport = p);
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
SQL
# The plan applied (vibecraft.distribute_on_citus(): re-runnable, a DBA's step too), then
# the demo data written through the coordinator as an application writes it (idempotent).
psql_at "${PORTS[0]}" "$DB" -qAt <<SQL >/dev/null
SET client_min_messages = warning;
SELECT count(*) FROM vibecraft.distribute_on_citus();
SELECT vibecraft.seed_demo_data();
SQL
say "Citus on PostgreSQL $PG: coordinator localhost:${PORTS[0]}, workers ${PORTS[1]} and ${PORTS[2]}, database $DB"
psql_at "${PORTS[0]}" "$DB" -c "SELECT nodename, nodeport, groupid, noderole FROM pg_dist_node ORDER BY groupid" \
    -c "SELECT placement, citus_table_type, count(*) AS tables FROM vibecraft.scale_out_status() GROUP BY 1, 2 ORDER BY 1" \
    -c "SELECT nodeport AS worker, sum(result::int) AS demo_prompts FROM run_command_on_placements('vibecraft.prompt_history', 'SELECT count(*) FROM %s') GROUP BY 1 ORDER BY 1"
