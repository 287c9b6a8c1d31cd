# vibecraft: two commands, `make run` and `make test`. See README.md.
# The work is done by the scripts in scripts/; each installs what it needs.
# PG=15 (default), 16, 17 or 18 picks the PostgreSQL version, e.g. `make run PG=17`;
# `make test` runs every version unless PG is given.
.PHONY: run test stop reset deps install bench bench-scale upgrade-scripts scale scale-stop

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

stop:
	@bash scripts/cluster.sh stop

reset:
	@bash scripts/cluster.sh wipe
	@bash scripts/run.sh

deps:
	@bash scripts/deps.sh

install: deps
	@bash scripts/install.sh

bench:
	@bash bench/versions.sh

# A local Citus cluster (coordinator 28830, workers 28831-28832) with vibecraft installed;
# CITUS_SOURCE=/path/to/citus-14.x.tar.gz when the server has no Citus (docs/scale-out.md).
scale:
	@bash scripts/scale.sh start

scale-stop:
	@bash scripts/scale.sh stop

# Per-call cost on Citus: pgbench against one server and a local 3-node cluster (bench/scale.sh).
bench-scale:
	@bash bench/scale.sh

# The upgrade script from the last release, assembled from sql/migrations/ and the rooms.
upgrade-scripts:
	@bash scripts/upgrade_scripts.sh
