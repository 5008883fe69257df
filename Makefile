# fieldsvc: the two set-up commands are `make demo` and `make test` (see README.md).
.PHONY: demo test stop status up install lint bench bench-import bench-intake bench-linking bench-dispatch bench-tiles bench-wfs bench-replica bench-faults fuzz

demo:  ## install, start PostGIS (+ its replica) + Redis, migrate, load fixtures, run web + a worker per queue + beat
	@scripts/stack.sh demo

test:  ## install, start PostGIS + Redis if needed, run the whole test suite
	@scripts/stack.sh test $(PYTEST_ARGS)

stop:  ## stop web, worker, beat, PostgreSQL and Redis
	@scripts/stack.sh down

status:  ## show what is running
	@scripts/stack.sh status

up:  ## start only PostGIS + Redis
	@scripts/stack.sh up

install:  ## Debian packages + .venv only
	@scripts/stack.sh install

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench: bench-import bench-intake bench-linking bench-dispatch bench-wfs bench-tiles  ## all benchmarks (about 22 minutes)

bench-import:  ## 1M points: fieldsvc's importer against ogr2ogr
	@scripts/stack.sh up && .venv/bin/python bench/import_bench.py

bench-intake:  ## Open311 POST load on gunicorn, then nearby cases among 1M stored requests vs raw SQL
	@scripts/stack.sh up && .venv/bin/python bench/intake_bench.py

bench-linking:  ## ~1M assets, ~100k utilities, 100k reports: naive ORM, intake path, batch path, STRtree bound
	@scripts/stack.sh up && .venv/bin/python bench/linking_bench.py

bench-dispatch:  ## best crew now among 5,000 crews: PostGIS KNN vs brute force vs an rtree
	@scripts/stack.sh up && .venv/bin/python bench/dispatch_bench.py

bench-wfs:  ## WFS GetFeature of 100k points / lines as GeoJSON vs ogr2ogr from PostGIS; worker RSS at 10k vs 100k
	@scripts/stack.sh up && .venv/bin/python bench/wfs_bench.py

bench-replica:  ## nearby reads on the streaming replica vs the primary under intake, replica delay, 1 vs 2 linking processes
	@scripts/stack.sh up && .venv/bin/python bench/replica_bench.py

bench-tiles:  ## dense z14 tiles vs bare ST_AsMVT, z<=12 clusters, cached tiles/s under wrk (apt-installs wrk if missing)
	@scripts/stack.sh up && .venv/bin/python bench/tiles_bench.py

bench-faults:  ## ~10 min: Boston's cases through Open311 while workers are SIGKILLed, Redis restarts, PostgreSQL cuts connections
	@scripts/stack.sh up && .venv/bin/python bench/replay_faults.py

fuzz:  ## tests/fuzz under the big profile: over 10,000 generated cases, prints the count and the server errors (0)
	@scripts/stack.sh up && .venv/bin/python bench/fuzz.py
