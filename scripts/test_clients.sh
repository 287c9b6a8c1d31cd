#!/usr/bin/env bash
# test_clients.sh PORT: the client tier of `make test`, against a running cluster whose
# JWT secret is $VIBECRAFT_JWT_SECRET.
#   1. vibecraft.typescript_types() compiles with `tsc --strict` against
#      tests/typescript/usage.ts (TypeScript from npm, pinned in its package-lock.json).
#   2. examples/python (psycopg), examples/node (pg) and examples/rust (tokio-postgres)
#      each run as an ordinary login role and check their own results.
# Installs what it needs (Node.js, npm, Python's venv, the packages from npm and PyPI),
# idempotently. Prints one `ok:` or `FAILED:` line per check; exits non-zero on failure.
. "$(dirname "$0")/common.sh"
cd "$PROJECT_DIR"
port="$1"
failures=0
ok() { echo "ok: $*"; }
failed() { echo "FAILED: $*"; failures=$((failures + 1)); }
db=vibecraft_clients
app_role=example_app

# --- tools: Node.js and npm, Python 3 with venv (Debian packages when missing) ---------
missing=()
{ command -v node && command -v npm; } >/dev/null 2>&1 || missing+=(nodejs npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3 python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
npm_ci() { (cd "$1" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); }

# --- a database of its own and the application's login role ---------------------------
psql_at "$port" postgres -q \
    -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" \
    -c "DROP ROLE IF EXISTS $app_role" \
    -c "CREATE ROLE $app_role LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE IN ROLE vibecraft_authenticated"
psql_at "$port" "$db" -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION vibecraft CASCADE"
export DATABASE_URL="postgresql://$app_role@localhost:$port/$db"

# --- 1. TypeScript types ---------------------------------------------------------------
ts=tests/typescript
if ! npm_ci "$ts"; then
    failed "npm ci in $ts (TypeScript from the npm registry)"
elif ! psql_at "$port" "$db" -Atc "SELECT vibecraft.typescript_types()" >"$ts/vibecraft.ts"; then
    failed "vibecraft.typescript_types() raised an error"
elif (cd "$ts" && node_modules/.bin/tsc --strict -p .); then
    ok "typescript_types() ($(wc -l <"$ts/vibecraft.ts") lines) compiles with tsc $("$ts/node_modules/.bin/tsc" --version | cut -d' ' -f2) --strict against $ts/usage.ts"
else
    failed "the generated types do not compile with tsc --strict against $ts/usage.ts (see above)"
fi

# The DBA manual's recipe for your own tables is what tests/pg_regress/sql/own_tables.sql runs.
doc_recipe=$(awk '/^```sql$/ {buf = ""; inside = 1; next}
                  /^```$/ {if (inside && buf ~ /CREATE TABLE public.webhooks/) printf "%s", buf; inside = 0; next}
                  inside {buf = buf $0 "\n"}' docs/dba.md)
suite_recipe=$(awk '/^-- <<< docs\/dba.md/ {p = 0} p {print} /^-- >>> docs\/dba.md/ {p = 1}' tests/pg_regress/sql/own_tables.sql)
if [ -n "$doc_recipe" ] && [ "$doc_recipe" = "$suite_recipe" ]; then
    ok "docs/dba.md's recipe for your own tables is the one tests/pg_regress/sql/own_tables.sql runs"
else
    failed "docs/dba.md section 4 and tests/pg_regress/sql/own_tables.sql differ: keep the recipe and its test the same"
fi

# --- 2. the examples --------------------------------------------------------------------
run_example() { # run_example NAME command...
    local name="$1" out
    shift
    if out=$("$@" 2>&1); then
        ok "example $name: $out"
    else
        echo "$out"
        failed "example $name exited non-zero"
    fi
}

venv="$CARGO_TARGET_DIR/clients/python-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if "$venv/bin/pip" install -q --disable-pip-version-check -r examples/python/requirements.txt; then
    run_example python "$venv/bin/python" examples/python/example.py
else
    failed "pip install -r examples/python/requirements.txt"
fi

if npm_ci examples/node; then
    run_example node node examples/node/example.mjs
else
    failed "npm ci in examples/node (pg from the npm registry)"
fi

if cargo build -q -p vibecraft-example-rust; then
    run_example rust "$CARGO_TARGET_DIR/debug/vibecraft-example-rust"
else
    failed "cargo build -p vibecraft-example-rust"
fi

[ "$failures" -eq 0 ]
