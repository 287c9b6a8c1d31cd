#!/usr/bin/env bash
# `make run`: install what is missing, build, start the project's cluster, create the
# `vibecraft` database with the extension and demo data, and show a short tour.
. "$(dirname "$0")/common.sh"
DATA="$DEFAULT_DATA"

"$PROJECT_DIR/scripts/deps.sh"
"$PROJECT_DIR/scripts/install.sh"
# A new cluster preloads pg_cron for database vibecraft (where the server has it: Debian's
# PostgreSQL 15), so vibecraft.schedule_maintenance() works there (after CREATE EXTENSION
# pg_cron).
VIBECRAFT_CRON_DATABASE=vibecraft "$PROJECT_DIR/scripts/cluster.sh" start "$VIBECRAFT_PORT" "$DATA"
# The server preloads vibecraft: a newer library takes effect only after a restart.
pidfile="$(readlink -f "$DATA")/postmaster.pid"
if [ "$("$PG_CONFIG" --pkglibdir)/vibecraft.so" -nt "$pidfile" ]; then
    say "restarting the cluster to load the new vibecraft library"
    "$PROJECT_DIR/scripts/cluster.sh" stop "$DATA" >/dev/null
    "$PROJECT_DIR/scripts/cluster.sh" start "$VIBECRAFT_PORT" "$DATA"
fi

if [ "$(psql_at "$VIBECRAFT_PORT" postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = 'vibecraft'")" = 0 ]; then
    say "creating database vibecraft"
    psql_at "$VIBECRAFT_PORT" postgres -qc "CREATE DATABASE vibecraft"
fi
# Existing data is kept: a newer library version is applied with ALTER EXTENSION UPDATE.
psql_at "$VIBECRAFT_PORT" vibecraft -q <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
ALTER EXTENSION vibecraft UPDATE;
SQL
# A login role for PostgREST or an app server (NOINHERIT: it acts only through SET ROLE),
# with the timeouts docs/dba.md (section 3) recommends for the API's login roles.
psql_at "$VIBECRAFT_PORT" vibecraft -q <<'SQL' >/dev/null
SET client_min_messages = warning;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticator') THEN
        CREATE ROLE authenticator LOGIN NOINHERIT;
    END IF;
END
$$;
GRANT vibecraft_anon, vibecraft_authenticated, vibecraft_service TO authenticator;
SELECT vibecraft.apply_role_timeouts('authenticator');
SQL
# During development the SQL of one version changes without a version bump; the
# database then still has the objects it was created with. Say so rather than guess.
script="$("$PG_CONFIG" --sharedir)/extension/vibecraft--$(grep -m1 '^version' "$PROJECT_DIR/Cargo.toml" | cut -d'"' -f2).sql"
stamp="$(readlink -f "$DATA")/vibecraft-dev-db.sha256"
current="$(sha256sum "$script" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$current" ]; then
    echo "note: vibecraft's SQL changed since database 'vibecraft' was created; 'make reset' recreates it (its data is lost)."
elif [ ! -f "$stamp" ]; then
    echo "$current" >"$stamp"
fi
if [ "$(psql_at "$VIBECRAFT_PORT" vibecraft -Atc "SELECT to_regprocedure('vibecraft.seed_demo_data()') IS NOT NULL")" = t ]; then
    say "loading demo data (idempotent)"
    psql_at "$VIBECRAFT_PORT" vibecraft -qAtc "SELECT vibecraft.seed_demo_data()" >/dev/null
fi

say "a short tour (real calls, real results)"
psql_at "$VIBECRAFT_PORT" vibecraft -v ON_ERROR_STOP=0 -e -f "$PROJECT_DIR/scripts/tour.sql" 2>&1 | sed 's/^/    /'

pg_arg=""
[ "$PG" = 15 ] || pg_arg=" PG=$PG"
cat <<MSG

vibecraft is running on PostgreSQL $PG, localhost:$VIBECRAFT_PORT (data: $DATA, log: $DATA/server.log).
This development cluster trusts every connection from localhost, and its JWT secret and
encryption key were generated for it (see $DATA/postgresql.conf). Not for production.

Connect:
    psql -h localhost -p $VIBECRAFT_PORT -U postgres vibecraft
    (or as 'authenticator', the login role for PostgREST or an app server: it has the three
    vibecraft roles and the recommended timeouts)

make stop$pg_arg stops it; make reset$pg_arg deletes its data and starts again; make test runs every test tier.
MSG
