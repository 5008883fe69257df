#!/usr/bin/env bash
# fieldsvc stack: installs what is missing and runs the project-local PostGIS, Redis, web, worker, beat.
# Usage: scripts/stack.sh install|up|down|status|demo|test|env
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK="$ROOT/.stack"
PGDATA="$STACK/pgdata"
RUN="$STACK/run"
LOG="$STACK/log"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
PG_PORT=${FIELDSVC_PG_PORT:-55432}
REPLICA_DATA="$STACK/pgreplica"
REPLICA_PORT=${FIELDSVC_PG_REPLICA_PORT:-55433}
REDIS_PORT=${FIELDSVC_REDIS_PORT:-56379}
HTTP_HOST=${FIELDSVC_HTTP_HOST:-127.0.0.1}
HTTP_PORT=${FIELDSVC_HTTP_PORT:-8000}
# One Celery worker per queue (settings.FIELDSVC_CELERY_QUEUES, tests/test_queues.py): queue:processes, sized
# for two cores (linking is the intake's, and most of the work); docs/scaling.md says how to grow each.
WORKER_QUEUES=(celery:1 linking:2 notifications:1 tiles:1 planning:1)
WORKERS=("${WORKER_QUEUES[@]/#/worker-}"); WORKERS=("${WORKERS[@]%%:*}")  # their pidfiles: worker-<queue>
PG_BIN=/usr/lib/postgresql/15/bin
APT_PACKAGES=(postgresql-15-postgis-3 postgresql-client-15 gdal-bin redis-server python3-venv python3-dev build-essential)
APT_PACKAGES+=(nodejs npm chromium)  # MapLibre from npm for the map page; chromium: its test (headless)
APT_PACKAGES+=(python3-qgis qgis-providers)  # QGIS 3.22 (headless PyQGIS): the WFS/WFS-T tests drive it as GIS staff do

say() { printf '\033[1m[fieldsvc]\033[0m %s\n' "$*"; }
die() { printf '[fieldsvc] error: %s\n' "$*" >&2; exit 1; }

# Whether we manage a local PostgreSQL / Redis, or use the ones given in the environment.
external_db() { [ -n "${DATABASE_URL:-}" ]; }
external_broker() { [ -n "${CELERY_BROKER_URL:-}" ]; }

as_pg() {  # PostgreSQL refuses to run as root: use the 'postgres' account when we are root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_system() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # python3-venv/-dev are only needed when python3 cannot make a venv by itself (Debian's python).
  if python3 -c 'import ensurepip, venv' 2>/dev/null; then
    local keep=(); for p in "${missing[@]}"; do case $p in python3-venv|python3-dev|build-essential) ;; *) keep+=("$p");; esac; done
    missing=("${keep[@]}")
  fi
  # A node/npm already on PATH will do (NodeSource's nodejs bundles npm and conflicts with Debian's npm).
  local keep=(); for p in "${missing[@]}"; do case $p in nodejs) command -v node >/dev/null && continue;; npm) command -v npm >/dev/null && continue;; esac; keep+=("$p"); done
  missing=("${keep[@]}")
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root, or install them)"
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian package starts its own cluster on 5432; we do not need it.
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql/15/main ]; then
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
  fi
  if pgrep -x redis-server >/dev/null && [ ! -f "$RUN/redis.pid" ]; then
    service redis-server stop >/dev/null 2>&1 || true
  fi
}

install_python() {
  local stamp="$VENV/.fieldsvc-installed"; mkdir -p "$STACK"
  local want; want=$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  [ -x "$PY" ] || { say "creating virtualenv .venv"; python3 -m venv "$VENV"; }
  say "installing Python packages into .venv"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/pip" install -q -e "$ROOT[dev]" >"$STACK/pip.log" 2>&1 || { cat "$STACK/pip.log" >&2; die "pip install failed"; }
  echo "$want" > "$stamp"
}

install_node() {  # npm packages, then MapLibre GL JS into the static files (served by us: no CDN, works offline)
  local stamp="$ROOT/node_modules/.fieldsvc-installed"; mkdir -p "$STACK"
  local want; want=$(sha256sum "$ROOT/package-lock.json" | cut -c1-16)
  if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
    say "installing npm packages into node_modules"
    (cd "$ROOT" && npm ci --no-audit --no-fund) >"$STACK/npm.log" 2>&1 || { cat "$STACK/npm.log" >&2; die "npm ci failed"; }
    echo "$want" > "$stamp"
  fi
  local modules="$ROOT/node_modules"
  # MapLibre 6 is ES modules only and finds its worker beside itself; Chart.js (the statistics page) is one
  # UMD file with its colour helper inside, so neither needs a bundler. Copied when changed (collectstatic then
  # leaves the rest alone). Before collectstatic in 'demo'; tests' live server reads app static dirs directly.
  vendor_copy maplibre-gl "$modules/maplibre-gl/dist/maplibre-gl.mjs" "$modules/maplibre-gl/dist/maplibre-gl-worker.mjs" \
    "$modules/maplibre-gl/dist/maplibre-gl.css" "$modules/maplibre-gl/LICENSE.txt"
  vendor_copy chart.js "$modules/chart.js/dist/chart.umd.min.js" "$modules/chart.js/LICENSE.md"
  # tus-js-client (the crews' app's resumable photo uploads): its browser build is one UMD file (window.tus).
  vendor_copy tus-js-client "$modules/tus-js-client/dist/tus.min.js" "$modules/tus-js-client/LICENSE"
}

vendor_copy() {  # vendor_copy <folder> <file>...: into fieldsvc/static/fieldsvc/vendor/<folder>/, when changed
  local dir="$ROOT/fieldsvc/static/fieldsvc/vendor/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] || die "$f is missing: run 'npm ci' (scripts/stack.sh install)"
    cmp -s "$f" "$dir/${f##*/}" || cp "$f" "$dir/"
  done
}

install() { install_system; install_python; install_node; }

# The postgres account must be able to reach .stack/pgdata: grant traverse (x) on parents that lack it.
grant_traverse() {
  [ "$(id -u)" = 0 ] || return 0
  local d="$STACK"
  while [ "$d" != "/" ]; do
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      say "granting traverse permission on $d so the postgres account can reach its data directory"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}

pg_running() { [ -f "$PGDATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

db_up() {
  mkdir -p "$RUN" "$LOG"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    say "creating PostGIS cluster in .stack/pgdata (port $PG_PORT)"
    mkdir -p "$PGDATA"
    [ -f "$STACK/pg.password" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$STACK/pg.password")
    local pwfile="$STACK/pg.pwfile"
    cp "$STACK/pg.password" "$pwfile"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGDATA" "$pwfile" "$RUN" "$LOG"; fi
    grant_traverse
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U fieldsvc --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 >"$LOG/initdb.log" 2>&1 \
      || { rm -f "$pwfile"; die "initdb failed: see .stack/log/initdb.log"; }
    rm -f "$pwfile"
  fi
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$RUN" "$LOG"; grant_traverse; fi
  if ! pg_running; then
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # Parallel query makes each worker load PostGIS/PROJ: ~2 s for a 35 ms ST_DWithin (reference §6.2).
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$LOG/postgres.log" -w -t 60 start -o \
      "-p $PG_PORT -k $RUN -c listen_addresses=127.0.0.1 -c max_parallel_workers_per_gather=0 -c shared_buffers=256MB -c maintenance_work_mem=512MB -c max_wal_size=2GB -c synchronous_commit=off" \
      >/dev/null || die "PostgreSQL did not start: see .stack/log/postgres.log"
  fi
  export PGPASSWORD; PGPASSWORD=$(cat "$STACK/pg.password")
  if ! psql -h 127.0.0.1 -p "$PG_PORT" -U fieldsvc -d postgres -tAc "select 1 from pg_database where datname='fieldsvc'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U fieldsvc -d postgres -qc "create database fieldsvc" >/dev/null
  fi
  PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "$PG_PORT" -U fieldsvc -d fieldsvc -qc "create extension if not exists postgis" >/dev/null
}

replica_running() { [ -f "$REPLICA_DATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" status >/dev/null 2>&1; }

# A streaming replica of the local cluster: a second cluster on $REPLICA_PORT, a physical copy kept up to date,
# that the read-heavy paths use (fieldsvc/replica.py, docs/scaling.md). The primary needs no restart: initdb
# already allows local replication; its slot keeps the WAL the replica has not received, at most 2 GB.
replica_up() {
  export PGPASSWORD; PGPASSWORD=$(cat "$STACK/pg.password")
  local psql_primary=(psql -h 127.0.0.1 -p "$PG_PORT" -U fieldsvc -d postgres -qtA)
  if [ -f "$REPLICA_DATA/PG_VERSION" ]; then  # a copy of an earlier cluster (pgdata made again) is made again too
    local ours theirs
    ours=$("${psql_primary[@]}" -c "SELECT system_identifier FROM pg_control_system()")
    theirs=$(as_pg "$PG_BIN/pg_controldata" -D "$REPLICA_DATA" | sed -n 's/^Database system identifier: *//p')
    if [ "$ours" != "$theirs" ]; then
      say "the replica copies another cluster: making it again"
      replica_running && as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w stop >/dev/null
      rm -rf "$REPLICA_DATA"
    fi
  fi
  if [ ! -f "$REPLICA_DATA/PG_VERSION" ]; then
    say "making a streaming replica in .stack/pgreplica (port $REPLICA_PORT)"
    rm -rf "$REPLICA_DATA"; mkdir -p "$REPLICA_DATA"; chmod 700 "$REPLICA_DATA"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$REPLICA_DATA"; fi
    "${psql_primary[@]}" -c "ALTER SYSTEM SET max_slot_wal_keep_size = '2GB'" -c "SELECT pg_reload_conf()" >/dev/null
    "${psql_primary[@]}" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                             WHERE slot_name = 'fieldsvc_replica' AND NOT active" >/dev/null
    as_pg env PGPASSWORD="$PGPASSWORD" "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U fieldsvc \
      -D "$REPLICA_DATA" -R -X stream -C -S fieldsvc_replica -c fast >"$LOG/pg_basebackup.log" 2>&1 \
      || { rm -rf "$REPLICA_DATA"; die "pg_basebackup failed: see .stack/log/pg_basebackup.log"; }
  fi
  if ! replica_running; then
    say "starting the PostgreSQL replica on 127.0.0.1:$REPLICA_PORT"
    # hot_standby_feedback: a long WFS export on the replica is not cancelled by the primary's vacuum.
    as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -l "$LOG/replica.log" -w -t 60 start -o \
      "-p $REPLICA_PORT -k $RUN -c listen_addresses=127.0.0.1 -c max_parallel_workers_per_gather=0 -c shared_buffers=256MB -c hot_standby=on -c hot_standby_feedback=on" \
      >/dev/null || die "the PostgreSQL replica did not start: see .stack/log/replica.log"
  fi
}

redis_running() { [ -f "$RUN/redis.pid" ] && kill -0 "$(cat "$RUN/redis.pid")" 2>/dev/null; }

redis_up() {
  mkdir -p "$STACK/redis" "$RUN" "$LOG"
  redis_running && return 0
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$STACK/redis" --daemonize yes \
    --pidfile "$RUN/redis.pid" --logfile "$LOG/redis.log" --save "60 1000" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "Redis did not start: see .stack/log/redis.log"
}

write_env() {
  mkdir -p "$STACK"
  {
    external_db || echo "DATABASE_URL=postgis://fieldsvc:$(cat "$STACK/pg.password")@127.0.0.1:$PG_PORT/fieldsvc"
    external_db || echo "DATABASE_REPLICA_URL=postgis://fieldsvc:$(cat "$STACK/pg.password")@127.0.0.1:$REPLICA_PORT/fieldsvc"
    external_broker || echo "CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0"
    # Served on loopback over plain HTTP: the explicit opt-out of the HTTPS-only production settings.
    case "$HTTP_HOST" in 127.*|localhost|::1) echo "FIELDSVC_PLAIN_HTTP=1" ;; esac
  } > "$STACK/env"
  chmod 600 "$STACK/env"
}

load_env() {  # the environment wins over .stack/env, as in fieldsvc/settings.py
  [ -f "$STACK/env" ] || return 0
  while IFS='=' read -r k v; do [ -n "$k" ] && [ -z "${!k:-}" ] && export "$k=$v"; done < "$STACK/env"
}

up() {
  install
  external_db || { db_up; replica_up; }
  external_broker || redis_up
  write_env
  load_env
}

stop_pidfile() {
  local f="$RUN/$1.pid"
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

down() {
  for p in demo replay web worker "${WORKERS[@]}" beat; do stop_pidfile "$p"; done
  if replica_running; then say "stopping the PostgreSQL replica"; as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w stop >/dev/null; fi
  if pg_running; then say "stopping PostgreSQL"; as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null; fi
  if redis_running; then say "stopping Redis"; redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || stop_pidfile redis; fi
  rm -f "$RUN/redis.pid"
  say "stopped"
}

status() {
  local line
  line() { printf '  %-21s %s\n' "$1" "$2"; }
  echo "fieldsvc stack:"
  if [ -n "${EXT_DB:-}" ]; then line postgres "external (DATABASE_URL)"; elif pg_running; then line postgres "running on 127.0.0.1:$PG_PORT (.stack/pgdata)"; else line postgres "stopped"; fi
  if [ -z "${EXT_DB:-}" ]; then
    if replica_running; then line replica "running on 127.0.0.1:$REPLICA_PORT (.stack/pgreplica)"; else line replica "stopped"; fi
  fi
  if [ -n "${EXT_BROKER:-}" ]; then line redis "external (CELERY_BROKER_URL)"; elif redis_running; then line redis "running on 127.0.0.1:$REDIS_PORT"; else line redis "stopped"; fi
  for p in web "${WORKERS[@]}" beat; do
    if [ -f "$RUN/$p.pid" ] && kill -0 "$(cat "$RUN/$p.pid")" 2>/dev/null; then line "$p" "running (pid $(cat "$RUN/$p.pid"))"; else line "$p" "stopped"; fi
  done
  if [ -f "$RUN/web.pid" ] && kill -0 "$(cat "$RUN/web.pid")" 2>/dev/null; then
    line health "$(curl -s --max-time 5 "http://$HTTP_HOST:$HTTP_PORT/health" || echo unreachable)"
  fi
}

demo() {
  up
  cd "$ROOT"
  "$PY" manage.py migrate --noinput -v 0
  "$PY" manage.py collectstatic --noinput -v 0
  "$PY" manage.py load_demo
  "$PY" manage.py load_catalogue
  "$PY" manage.py ensure_demo_admin
  "$PY" manage.py ensure_demo_crew
  local api_key
  api_key=$("$PY" manage.py ensure_demo_api_key | sed 's/.*: //')
  mkdir -p "$RUN" "$LOG"
  local pids=()
  cleanup() {
    trap - INT TERM EXIT
    say "shutting down web, workers and beat"
    for p in replay web "${WORKERS[@]}" beat; do stop_pidfile "$p"; done
    rm -f "$RUN/demo.pid"
  }
  trap cleanup INT TERM EXIT
  echo $$ > "$RUN/demo.pid"
  "$VENV/bin/gunicorn" fieldsvc.wsgi:application --bind "$HTTP_HOST:$HTTP_PORT" --workers 3 \
    --access-logfile - --pid "$RUN/web.pid" & pids+=($!)
  local entry queue
  for entry in "${WORKER_QUEUES[@]}"; do
    queue=${entry%%:*}
    "$VENV/bin/celery" -A fieldsvc worker --loglevel INFO -Q "$queue" --concurrency "${entry##*:}" -n "$queue@%h" \
      --pidfile "$RUN/worker-$queue.pid" & pids+=($!)
  done
  "$VENV/bin/celery" -A fieldsvc beat --loglevel INFO --schedule "$RUN/celerybeat-schedule" \
    --pidfile "$RUN/beat.pid" & pids+=($!)
  # Boston's 311 history (38,971 cases) loads behind the running server; later runs skip what is there.
  "$PY" manage.py replay_311 >"$LOG/replay.log" 2>&1 &
  echo $! > "$RUN/replay.pid"
  sleep 2
  cat <<MSG

  fieldsvc is running (Ctrl-C or 'make stop' to stop):
    web        http://$HTTP_HOST:$HTTP_PORT/
    map        http://$HTTP_HOST:$HTTP_PORT/map/   (the vector tile layers)
    stats      http://$HTTP_HOST:$HTTP_PORT/stats/   (public statistics, CSV and GeoJSON downloads)
    admin      http://$HTTP_HOST:$HTTP_PORT/admin/   (user: admin, password in .stack/admin.password)
    field app  http://$HTTP_HOST:$HTTP_PORT/field/   (crews' tablets; user: crew, password in .stack/crew.password)
    health     http://$HTTP_HOST:$HTTP_PORT/health
    api        http://$HTTP_HOST:$HTTP_PORT/api/
    open311    http://$HTTP_HOST:$HTTP_PORT/open311/v2/discovery.json   (API key for POST: $api_key)
    api docs   http://$HTTP_HOST:$HTTP_PORT/api/docs/
    status     http://$HTTP_HOST:$HTTP_PORT/status   (look a request up by number)
    history    Boston's 311 cases are loading in the background: .stack/log/replay.log

MSG
  # Whichever child ends first ends the demo; the trap stops the rest.
  wait -n "${pids[@]}" || true
}

run_tests() {
  up
  cd "$ROOT"
  "$VENV/bin/pytest" "$@"
}

cmd=${1:-status}; shift || true
case "$cmd" in
  install) install ;;
  up) up; say "stack is up ($(cat "$STACK/env" | cut -d= -f1 | tr '\n' ' '))" ;;
  down|stop) down ;;
  status) EXT_DB=${DATABASE_URL:-}; EXT_BROKER=${CELERY_BROKER_URL:-}; load_env; status ;;
  demo) demo ;;
  test) run_tests "$@" ;;
  env) load_env; cat "$STACK/env" ;;
  *) die "unknown command '$cmd' (install|up|down|status|demo|test|env)" ;;
esac
