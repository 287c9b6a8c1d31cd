#!/usr/bin/env bash
# test_upgrade.sh PORT: the upgrade tier of `make test`, against a running cluster.
#   1. A released upgrade script never changes: each sql/vibecraft--A--B.sql whose B is
#      released (sql/releases) equals the file at B's release commit.
#   2. For every release: install it from its commit, load its demo data, ALTER EXTENSION
#      vibecraft UPDATE, and check that every row that was there is still there
#      unchanged, that the catalog (tests/pg_regress/upgrade/fingerprint.sql) equals a fresh
#      install of this version, and that validate_system_integrity reports no failure.
#   0. The upgrade script to this version is the one `make upgrade-scripts` generates, and
#      docs/authorization.md's matrix is the catalog of a fresh install.
# Prints one `ok:` or `FAILED:` line per check; exits non-zero when any failed.
. "$(dirname "$0")/common.sh"
cd "$PROJECT_DIR"
port="$1"
current=$(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)
failures=0
ok() { echo "ok: $*"; }
failed() { echo "FAILED: $*"; failures=$((failures + 1)); }
sql() { psql_at "$port" "$@"; }

# 0. The unreleased upgrade script is what `make upgrade-scripts` generates.
bash "$PROJECT_DIR/scripts/upgrade_scripts.sh" --check || failures=$((failures + 1))
# ... and docs/authorization.md's matrix is this version's catalog.
sql postgres -qc "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS authz_fresh" -c "CREATE DATABASE authz_fresh" >/dev/null
sql authz_fresh -qc "SET client_min_messages = warning" -c "CREATE EXTENSION vibecraft CASCADE" >/dev/null
bash "$PROJECT_DIR/scripts/authorization_matrix.sh" "$port" authz_fresh --check || failures=$((failures + 1))
sql postgres -qc "DROP DATABASE authz_fresh" >/dev/null

# 1. Released upgrade scripts are frozen.
while read -r version commit; do
    case "$version" in ''|'#'*) continue ;; esac
    for f in sql/vibecraft--*--"$version".sql; do
        [ -e "$f" ] || continue
        if git show "$commit:$f" 2>/dev/null | cmp -s - "$f"; then
            ok "$f is as released in $version"
        else
            failed "$f was changed after $version was released (or is missing from commit $commit)"
        fi
    done
done < sql/releases

# 2. Every release upgrades to this version.
extdir="$("$PG_CONFIG" --sharedir)/extension"
# The old releases' install scripts go into the server's extension directory for this
# test only: left there, every later CREATE EXTENSION would list those versions too.
copied=()
remove_copied() { for f in "${copied[@]}"; do if [ -w "$extdir" ]; then rm -f "$f"; else sudo rm -f "$f"; fi; done; }
trap remove_copied EXIT
for version in $(awk '!/^#/ && NF {print $1}' sql/releases); do
    [ "$version" = "$current" ] && continue
    [ -e "sql/vibecraft--$version--$current.sql" ] || { failed "no upgrade script from $version to $current"; continue; }
    script=$("$PROJECT_DIR/scripts/release_sql.sh" "$version" | tail -n 1)
    if [ -w "$extdir" ]; then cp "$script" "$extdir/"; else sudo cp "$script" "$extdir/"; fi
    copied+=("$extdir/$(basename "$script")")
    old="upgrade_from_${version//./_}" fresh="upgrade_fresh"
    sql postgres -qc "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $old" -c "DROP DATABASE IF EXISTS $fresh" \
        -c "CREATE DATABASE $old" -c "CREATE DATABASE $fresh" >/dev/null
    sql "$old" -q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION vibecraft VERSION '$version' CASCADE;
SELECT vibecraft.seed_demo_data();
-- Some life beyond the demo data, written as plain SQL: the library installed now is
-- already the new one, and its native functions expect the new schema.
WITH d AS (UPDATE vibecraft.users SET credits = credits - 7 WHERE id = 'd1000000-0000-4000-8000-000000000003' RETURNING id, credits)
INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after, reason) SELECT id, -7, credits, 'before the upgrade' FROM d;
SELECT vibecraft.log_api_usage('openai', 'gpt-4o', 10, 20, 0.001, 100, 200, user_uuid => 'd1000000-0000-4000-8000-000000000002');
-- A snapshot of every table, in its columns as of this version.
CREATE SCHEMA snapshot;
DO \$snap\$
DECLARE t record;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'vibecraft'::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE format('CREATE TABLE snapshot.%I AS SELECT * FROM vibecraft.%I', t.relname, t.relname);
    END LOOP;
END
\$snap\$;
SQL
    if ! out=$(sql "$old" -qAt -c "ALTER EXTENSION vibecraft UPDATE TO '$current'" \
                   -c "SELECT extversion FROM pg_extension WHERE extname = 'vibecraft'" 2>&1) || [ "$out" != "$current" ]; then
        failed "ALTER EXTENSION vibecraft UPDATE from $version: $out"
        continue
    fi
    ok "ALTER EXTENSION vibecraft UPDATE from $version to $current"
    # Every row of the snapshot is still there, unchanged in the columns it had.
    lost=$(sql "$old" -qAt <<'SQL'
CREATE FUNCTION pg_temp.rows_lost() RETURNS text LANGUAGE plpgsql AS $cmp$
DECLARE t record; cols text; n bigint; report text := '';
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'snapshot'::regnamespace ORDER BY 1 LOOP
        -- Columns the upgrade rewrites on purpose are left out: 0.2.0 gives installed
        -- reference rows fixed ids, and the rows referring to them follow (the integrity
        -- check below proves every reference still resolves); users.credits moves to
        -- credit_balances (the integrity check proves every balance equals its ledger).
        SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO cols
          FROM pg_attribute a WHERE a.attrelid = format('snapshot.%I', t.relname)::regclass AND a.attnum > 0
           AND (t.relname, a.attname) NOT IN (('ai_providers', 'id'), ('prompt_frameworks', 'id'),
                ('feedback_categories', 'id'), ('storage_buckets', 'id'), ('system_settings', 'id'),
                ('feedback', 'category_id'), ('project_assets', 'bucket_id'), ('users', 'credits'));
        EXECUTE format('SELECT count(*) FROM (SELECT %s FROM snapshot.%I EXCEPT ALL SELECT %s FROM vibecraft.%I) x',
                       cols, t.relname, cols, t.relname) INTO n;
        IF n > 0 THEN report := report || format('%s: %s; ', t.relname, n); END IF;
    END LOOP;
    RETURN coalesce(nullif(report, ''), '0');
END
$cmp$;
SELECT pg_temp.rows_lost();
SQL
)
    rows=$(sql "$old" -qAt -c "SELECT sum((xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM snapshot.%I', relname), false, true, '')))[1]::text::bigint) FROM pg_class WHERE relnamespace = 'snapshot'::regnamespace AND relkind = 'r'")
    if [ "$lost" = "0" ]; then ok "all $rows rows of $version survived the upgrade unchanged"; else failed "rows lost or changed in the upgrade from $version: $lost"; fi
    sql "$old" -qc "SET client_min_messages = warning" -c "DROP SCHEMA snapshot CASCADE" >/dev/null
    sql "$fresh" -qc "SET client_min_messages = warning" -c "CREATE EXTENSION vibecraft CASCADE" >/dev/null
    if diff <(sql "$old" -qAt -f tests/pg_regress/upgrade/fingerprint.sql) <(sql "$fresh" -qAt -f tests/pg_regress/upgrade/fingerprint.sql) \
            >"$CARGO_TARGET_DIR/upgrade-$version.diff"; then
        ok "the catalog after upgrading from $version equals a fresh install ($(sql "$fresh" -qAt -f tests/pg_regress/upgrade/fingerprint.sql | wc -l) facts)"
    else
        failed "the catalog after upgrading from $version differs from a fresh install:"
        head -n 40 "$CARGO_TARGET_DIR/upgrade-$version.diff"
    fi
    bad=$(sql "$old" -qAt -c "SELECT string_agg(check_name, ', ') FROM vibecraft.validate_system_integrity() WHERE status = 'failed'")
    if [ -z "$bad" ]; then ok "validate_system_integrity after the upgrade: nothing failed"; else failed "integrity after the upgrade: $bad"; fi
    same=$(sql "$old" -qAt -c "SELECT bool_and(vibecraft.get_user_stats(id) = vibecraft.recount_user_stats(id)) FROM vibecraft.users")
    if [ "$same" = "t" ]; then ok "statistics totals built by the upgrade match a recount"; else failed "statistics totals after the upgrade differ from a recount"; fi
    sql postgres -qc "DROP DATABASE $old" -c "DROP DATABASE $fresh" >/dev/null
done
[ "$failures" -eq 0 ]
