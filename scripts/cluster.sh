#!/usr/bin/env bash
# A PostgreSQL cluster that belongs to the project, of the version PG names (common.sh).
#   cluster.sh start PORT DATADIR   initdb when new, then start (no-op when running);
#                                   with VIBECRAFT_CRON_DATABASE=DB a new cluster also
#                                   preloads pg_cron (where the server has it), which
#                                   then runs jobs in DB; VIBECRAFT_PRELOAD_FIRST=LIB
#                                   preloads LIB before vibecraft (citus)
#   cluster.sh standby PRIMARY_PORT PORT DATADIR
#                                   a streaming hot standby of the cluster on PRIMARY_PORT
#                                   (pg_basebackup, then start on PORT): a read replica
#   cluster.sh stop  [DATADIR]      fast shutdown of that cluster only (by its data dir)
#   cluster.sh wipe  [DATADIR]      stop and delete it
# DATADIR defaults to $VIBECRAFT_DATA, else `make run`'s (.pgdata, .pgdata-pg17, ...).
# stop, crash and wipe use the binaries of the version the cluster was created with.
# Never touches any other cluster: pg_ctl acts on the postmaster.pid in DATADIR only.
. "$(dirname "$0")/common.sh"

cmd="${1:-}"

# The binaries of the server version that created DATADIR (stop, crash, wipe).
use_binaries_of() {
    local version
    version=$(cat "$1/PG_VERSION" 2>/dev/null || true)
    case "$version" in
        15|16|17|18) [ -x "$(pg_config_of "$version")" ] && PGBIN="$("$(pg_config_of "$version")" --bindir)" ;;
    esac
    return 0
}

# The server is always given the data directory's real path (it may be a symlink).
real_path() { readlink -f "$1" 2>/dev/null || echo "$1"; }

running() { [ -f "$1/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

# As root the server runs as `postgres`, which must be able to reach the data dir.
# When the project lives somewhere `postgres` cannot enter (e.g. under /root), the
# data goes to /var/tmp and the project keeps a symlink to it.
resolve_datadir() {
    local data="$1"
    if [ "$IS_ROOT" -eq 1 ] && [ ! -e "$data" ]; then
        local parent
        parent="$(dirname "$data")"
        if ! runuser -u postgres -- test -x "$parent" 2>/dev/null; then
            local real="/var/tmp/vibecraft-$(echo "$data" | md5sum | cut -c1-12)"
            mkdir -p "$real"
            chown postgres: "$real"
            chmod 700 "$real"
            ln -s "$real" "$data"
            echo "note: postgres cannot enter $parent, so the cluster lives in $real (symlinked from $data)" >&2
        fi
    fi
}

case "$cmd" in
start)
    port="$2"
    data="$3"
    resolve_datadir "$data"
    data="$(real_path "$data")"
    if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$PG" ]; then
        die "$data holds a PostgreSQL $(cat "$data/PG_VERSION") cluster, not $PG: use PG=$(cat "$data/PG_VERSION"), or another data directory"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        say "creating a PostgreSQL $PG cluster in $data (port $port)"
        mkdir -p "$data"
        [ "$IS_ROOT" -eq 1 ] && chown postgres: "$data"
        chmod 700 "$data"
        # Trust on loopback only: a development cluster, never a production setup.
        as_pg "$PGBIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
            --auth-local=trust --auth-host=trust >/dev/null
        # Development secrets, random per cluster, readable only by the cluster's owner.
        jwt="${VIBECRAFT_JWT_SECRET:-$(head -c 32 /dev/urandom | base64 | tr -d '\n')}"
        keyring="${VIBECRAFT_ENCRYPTION_KEYS:-v1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')}"
        # VIBECRAFT_PRELOAD_FIRST: a library that must load before vibecraft (citus, for
        # `make scale`).
        preload="${VIBECRAFT_PRELOAD_FIRST:+$VIBECRAFT_PRELOAD_FIRST, }vibecraft, pg_stat_statements" cron=""
        if [ -n "${VIBECRAFT_CRON_DATABASE:-}" ] && [ -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
            preload="$preload, pg_cron"
            cron="cron.database_name = '$VIBECRAFT_CRON_DATABASE'"
        fi
        as_pg tee -a "$data/postgresql.conf" >/dev/null <<CONF

# ---- vibecraft development settings (scripts/cluster.sh) ----
port = $port
listen_addresses = 'localhost'
unix_socket_directories = ''
shared_preload_libraries = '$preload'
$cron
max_connections = 100
fsync = on
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
# Development-only secrets, generated for this cluster.
vibecraft.jwt_secret = '$jwt'
vibecraft.encryption_keys = '$keyring'
CONF
    fi
    if running "$data"; then
        exit 0
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is in use by another program; choose another with VIBECRAFT_PORT=NNNNN"
    fi
    # Without RUST_BACKTRACE, as a server started by the system would be: with it, pgrx
    # appends a Rust backtrace to the DETAIL of errors, which users should never see.
    as_pg env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null ||
        { tail -n 20 "$data/server.log" >&2; die "PostgreSQL did not start (log: $data/server.log)"; }
    ;;
standby)
    primary_port="$2"
    port="$3"
    data="$4"
    resolve_datadir "$data"
    data="$(real_path "$data")"
    if [ ! -f "$data/PG_VERSION" ]; then
        say "copying the cluster on port $primary_port into a hot standby in $data (port $port)"
        mkdir -p "$data"
        [ "$IS_ROOT" -eq 1 ] && chown postgres: "$data"
        chmod 700 "$data"
        # -X stream: the WAL written meanwhile. (The primary's pg_hba.conf, made by `start`,
        # trusts replication on loopback.)
        as_pg "$PGBIN/pg_basebackup" -h localhost -p "$primary_port" -U postgres -D "$data" -X stream -c fast
        # standby.signal and primary_conninfo written here rather than by -R: -R spells out
        # every libpq option its own libpq knows (PostgreSQL 17's adds sslnegotiation), and
        # the server's WAL receiver may load an older libpq (the system's), which refuses
        # the unknown option and never connects. The copy carries the primary's settings
        # (its secrets too, as a replica must, to verify the same tokens and decrypt the
        # same keys); only the port differs.
        as_pg touch "$data/standby.signal"
        printf "primary_conninfo = 'host=localhost port=%s user=postgres application_name=vibecraft_standby'\nport = %s\n" \
            "$primary_port" "$port" | as_pg tee -a "$data/postgresql.auto.conf" >/dev/null
    fi
    if running "$data"; then
        exit 0
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is in use by another program"
    fi
    as_pg env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null ||
        { tail -n 20 "$data/server.log" >&2; die "the standby did not start (log: $data/server.log)"; }
    ;;
stop)
    data="$(real_path "${2:-$DEFAULT_DATA}")"
    use_binaries_of "$data"
    if running "$data"; then
        as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
        say "stopped the cluster in $data"
    fi
    ;;
crash)
    # An immediate shutdown: no checkpoint, crash recovery on the next start (soak test).
    data="$(real_path "$2")"
    use_binaries_of "$data"
    if running "$data"; then
        as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
    fi
    ;;
wipe)
    link="${2:-$DEFAULT_DATA}"
    data="$(real_path "$link")"
    use_binaries_of "$data"
    if running "$data"; then
        as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
    fi
    rm -rf "$data"
    if [ -L "$link" ]; then rm -f "$link"; fi
    ;;
*)
    die "usage: cluster.sh start PORT DATADIR | standby PRIMARY_PORT PORT DATADIR | stop [DATADIR] | crash DATADIR | wipe [DATADIR]"
    ;;
esac
