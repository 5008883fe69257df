"""Vector tiles at city density: tile generation against the bare ST_AsMVT query, clusters at low zoom,
cached tiles per second, and the server's memory.

Issue #6 targets: (1) a dense z14 tile through our tile path (HTTP, gunicorn, Django, tiles/sql.py, not
cached) at most 1.2x the bare query over the same rows (ST_AsMVTGeom on ST_TileEnvelope with the layer's
own filter and properties, nothing else), timed from this process in the same run; (2) every z <= 12
tile of the clustered layers (open requests, work orders) at most 100 ms, built (not from the cache);
(3) at least 5,000 cached tiles/s over many different tile addresses, from the server as the demo runs
it (gunicorn fieldsvc.wsgi:application, 3 workers), with a real load generator (wrk, from Debian; the
bench installs it when it can, else uses a Python client and says so). The server's memory (RSS of the
master and workers) is read before and after. Data (in a database of its own, fieldsvc_bench_tiles),
spread over 0.30 x 0.25 degrees of Boston, Cambridge and Somerville: 1M assets (the anchors' density,
~5,000 per z14 tile, drawn there as counts), 1M requests of which 800,000 open (~4,000 per z14 tile,
drawn there as features: the dense feature tile; far above a real backlog, Boston's is ~8,000 open),
100,000 work orders (80,000 open). Tiles are cached in a Redis database of the bench's own (emptied
first), so tests that clear the shared cache cannot empty it midway. Results also go to
bench/out/tiles_bench.json. The machine (2 cores) is shared by server, database, Redis and load
generator; ratios are taken within the run, interleaved, and the cached load is run in rounds (the best
counts, all are printed) because the machine is noisy. Exits 1 when a target is missed.

    scripts/stack.sh up && .venv/bin/python bench/tiles_bench.py [--reuse] [--seconds 10] [--client wrk|python]
"""  # noqa: E501 (the usage line stays whole, to be copied)

import argparse
import http.client
import json
import math
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mapbox_vector_tile
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DB = "fieldsvc_bench_tiles"
CACHE_DB = 7  # the bench server's tile cache: a Redis database of its own
# The anchors' box (gis_anchors.md 5.2 D): 0.30 x 0.25 degrees, here over Boston, Cambridge and Somerville.
BOX = (-71.20, 42.22, -70.90, 42.47)
WORKERS = 3  # scripts/stack.sh: gunicorn fieldsvc.wsgi:application --workers 3

# The bare query: what a hand-written tile server sends (Martin's pattern, gis_anchors.md 5.1), the same rows
# (the layer's filter, the tile widened by the buffer) and properties as tiles/layers.py gives the layer.
BARE = {
    "assets": ("SELECT t.id AS id, k.code AS type, t.external_id AS external_id, t.status AS status, {geom} "
               "FROM registry_asset t JOIN registry_assettype k ON k.id = t.asset_type_id WHERE {filter}"),
    "requests": ("SELECT t.id AS id, s.code AS service, t.detailed_status AS status, "
                 "to_char(t.requested_at, 'YYYY-MM-DD') AS requested_at, {geom} FROM workorders_servicerequest t "
                 "JOIN workorders_service s ON s.id = t.service_id "
                 "WHERE {filter} AND t.status = 'open' AND t.geom IS NOT NULL"),
}
BARE_GEOM = "ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom"
BARE_FILTER = "t.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64 / 4096.0), {srid})"
BARE_SQL = "SELECT ST_AsMVT(q, %(name)s, 4096, 'geom') FROM ({rows}) q"


# --- Setup ------------------------------------------------------------------------------------------

def stack_urls() -> tuple[str, str]:
    """The stack database's URL and its cache's (Redis), asked of a child process: main_database_url()
    sets Django up, and this process must not (it only speaks SQL and HTTP)."""
    code = ("from stack_url import main_database_url; url = main_database_url(); from django.conf import settings; "
            "print(url); print(settings.CACHES['default']['LOCATION'])")
    lines = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "bench", check=True, capture_output=True,
                           text=True).stdout.strip().splitlines()
    return lines[-2], lines[-1]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def setup_database(base_url: str, url: str, env: dict, args: argparse.Namespace) -> None:
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    manage(env, "migrate", "-v0")
    seed = ("import yaml; from gis import services; r = yaml.safe_load(open('fixtures/registry.yaml')); "
            "services.registry_seed(departments=r['departments'], asset_types=r['asset_types'])")
    manage(env, "shell", "-c", seed)
    manage(env, "import_layer", "fixtures/boston/neighborhoods.geojson",
           "--mapping", "fixtures/mappings/boston_neighborhoods.yaml")
    manage(env, "load_catalogue")
    west, south, east, north = BOX
    point = (f"ST_Transform(ST_SetSRID(ST_MakePoint({west} + random() * {east - west}, "
             f"{south} + random() * {north - south}), 4326), Find_SRID('public', 'registry_asset', 'geom'))")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.6)")
        # Point assets in about the demo registry's proportions: trees and ramps, then lights, poles, hydrants.
        conn.execute(f"""
            INSERT INTO registry_asset (created_at, updated_at, asset_type_id, external_id, geom, status, attributes)
            SELECT now(), now(), k.id, 'bench-' || g, {point},
                   CASE WHEN g % 50 = 0 THEN 'planned' WHEN g % 97 = 0 THEN 'abandoned' ELSE 'active' END, '{{}}'
              FROM generate_series(1, {args.assets}) AS g
              JOIN registry_assettype k ON k.code = (ARRAY['street-tree', 'street-tree', 'street-tree',
                   'street-tree', 'pedestrian-ramp', 'pedestrian-ramp', 'pedestrian-ramp', 'streetlight',
                   'utility-pole', 'hydrant'])[1 + g % 10]""")
        # Requests: a fifth closed (not drawn), the rest open, in progress or waiting; personal fields filled, so
        # a tile that leaked them would show it.
        conn.execute(f"""
            INSERT INTO workorders_servicerequest (created_at, updated_at, service_id, reference, status,
                detailed_status, status_notes, description, geom, address_string, address_id, zipcode,
                requested_at, closed_at, department_id, channel, attributes, media_urls, email, phone,
                first_name, last_name, device_id, account_id, payload_sha256)
            SELECT now(), now(), s.id, 'T' || g, CASE WHEN g % 5 = 0 THEN 'closed' ELSE 'open' END,
                   CASE WHEN g % 5 = 0 THEN 'closed' WHEN g % 3 = 0 THEN 'in_progress' ELSE 'open' END, '',
                   'stored for the tiles benchmark', {point}, '', '', '', t.at,
                   CASE WHEN g % 5 = 0 THEN t.at END, s.department_id, 'web', '{{}}', '[]', 'someone@example.org',
                   '617-555-0100', 'Someone', '', '', '', ''
              FROM generate_series(1, {args.requests}) AS g
              CROSS JOIN LATERAL (SELECT now() - (random() * interval '80 days') + g * interval '0 s' AS at) AS t
              CROSS JOIN LATERAL (SELECT id, department_id FROM workorders_service ORDER BY id
                                  OFFSET (g % 70) LIMIT 1) AS s""")
        conn.execute(f"""
            INSERT INTO workorders_workorder (created_at, updated_at, status, department_id, service_id, priority,
                title, location, sla_clock, hold_reason, held_from, resolution, version)
            SELECT now(), now(), (ARRAY['new', 'ready', 'dispatched', 'in_progress', 'closed'])[1 + g % 5],
                   s.department_id, s.id, 1 + g % 4, 'bench work ' || g, {point}, '', '', '', '', 1
              FROM generate_series(1, {args.work_orders}) AS g
              CROSS JOIN LATERAL (SELECT id, department_id FROM workorders_service ORDER BY id
                                  OFFSET (g % 70) LIMIT 1) AS s""")
        conn.execute("VACUUM ANALYZE")


def summary_fold(env: dict) -> str:
    """Fold the cell-count changes the bulk inserts left (the beat job does it each minute in the stack)."""
    return manage(env, "shell", "-c", "from tiles.summary import fold; print(fold())").strip().splitlines()[-1]


def staff_session(env: dict) -> str:
    """A session cookie value for a staff user (staff layers: work orders)."""
    code = ("from importlib import import_module; from django.conf import settings; "
            "from django.contrib import auth; User = auth.get_user_model(); "
            "u, _ = User.objects.get_or_create(username='bench-staff', defaults={'is_staff': True}); "
            "u.set_unusable_password(); u.save(); s = import_module(settings.SESSION_ENGINE).SessionStore(); "
            "s[auth.SESSION_KEY] = str(u.pk); s[auth.BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]; "
            "s[auth.HASH_SESSION_KEY] = u.get_session_auth_hash(); s.create(); "
            "print(settings.SESSION_COOKIE_NAME + '=' + s.session_key)")
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


# --- The server ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "fieldsvc.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--log-level", "warning"], cwd=ROOT, env=env)
    for _ in range(150):
        try:
            get(port, "/health")
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's master and workers), MB."""
    def rss(p: int) -> int:
        with open(f"/proc/{p}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return (rss(pid) + sum(rss(c) for c in children)) / 1024


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    connection.close()
    return response.status, body, elapsed


# --- Tiles --------------------------------------------------------------------------------------------

def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2 ** z
    return z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def tiles_over_box(z: int) -> list[tuple[int, int, int]]:
    west, south, east, north = BOX
    _, x0, y0 = tile_of(west, north, z)
    _, x1, y1 = tile_of(east, south, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def dense_tiles(rng: random.Random, z: int, count: int) -> list[tuple[int, int, int]]:
    """Tiles wholly inside the box (every one full of points)."""
    west, south, east, north = BOX
    found: set[tuple[int, int, int]] = set()
    while len(found) < count:
        found.add(tile_of(rng.uniform(west + 0.03, east - 0.03), rng.uniform(south + 0.03, north - 0.03), z))
    return sorted(found)


def decoded_features(data: bytes, name: str) -> list[dict]:
    return mapbox_vector_tile.decode(data)[name]["features"] if data else []


def cache_generation_bump(cache: redis.Redis, layer: str) -> None:
    """Retire the layer's cached tiles (tiles/cache.py's generation key, as Django's cache stores it)."""
    cache.incr(f"fieldsvc:1:tilegen:{DB}:{layer}")


def compare_z14(port: int, url: str, cache: redis.Redis, srid: int, tiles: list, reps: int) -> dict:
    """Per layer: HTTP (not cached) and the bare query, alternating, on the same tiles; the features checked
    to be the same rows (clusters: their counts add up to the bare tile's features)."""
    results = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, rows in BARE.items():
            sql = BARE_SQL.format(rows=rows.format(geom=BARE_GEOM, filter=BARE_FILTER.format(srid=srid)))
            http_times, bare_times, features, mismatched = [], [], [], 0
            for n, (z, x, y) in enumerate(tiles):
                for rep in range(reps):
                    timings = {}
                    for which in (("bare", "http") if (n + rep) % 2 else ("http", "bare")):
                        if which == "bare":
                            start = time.perf_counter()
                            # Not prepared: the planner sees this tile's envelope (its best plan).
                            bare = bytes(conn.execute(sql, {"name": name, "z": z, "x": x, "y": y},
                                                      prepare=False).fetchone()[0])
                            timings["bare"] = time.perf_counter() - start
                        else:
                            cache_generation_bump(cache, name)
                            status, ours, timings["http"] = get(port, f"/tiles/{name}/{z}/{x}/{y}.mvt")
                            assert status == 200, (name, z, x, y, status)
                    http_times.append(timings["http"])
                    bare_times.append(timings["bare"])
                bare_features, our_features = decoded_features(bare, name), decoded_features(ours, name)
                features.append(len(bare_features))
                if our_features and "count" in our_features[0]["properties"]:
                    # Counts cover the same rows; cells on the buffer's outer edge may hold a few points just
                    # beyond it (the bare query clips those away one by one).
                    counted = sum(f["properties"]["count"] for f in our_features)
                    mismatched += abs(counted - len(bare_features)) > 0.01 * len(bare_features)
                else:
                    key = lambda f: (f["properties"]["id"], str(f["geometry"]))  # noqa: E731
                    mismatched += sorted(map(key, our_features)) != sorted(map(key, bare_features))
            clustered = bool(our_features) and "count" in our_features[0]["properties"]
            results[name] = {"http_ms": statistics.median(http_times) * 1000,
                             "bare_ms": statistics.median(bare_times) * 1000,
                             "features": statistics.median(features), "clustered": clustered,
                             "mismatched": mismatched, "tiles": len(tiles), "reps": reps}
            results[name]["ratio"] = results[name]["http_ms"] / results[name]["bare_ms"]
    return results


def low_zoom(port: int, cache: redis.Redis, cookie: str, reps: int) -> dict:
    """Every z <= 12 tile over the box of the clustered layers, built each time (work orders: their cached
    tiles retired before each request), the median of ``reps`` per tile."""
    results = {}
    for name, headers in (("requests", {}), ("work_orders", {"Cookie": cookie})):
        per_zoom: dict[int, list[float]] = {}
        for z in range(0, 13):
            for _, x, y in tiles_over_box(z):
                times = []
                for _ in range(reps):
                    cache_generation_bump(cache, name)
                    status, body, elapsed = get(port, f"/tiles/{name}/{z}/{x}/{y}.mvt", headers)
                    assert status in (200, 204), (name, z, x, y, status)
                    times.append(elapsed)
                per_zoom.setdefault(z, []).append(statistics.median(times) * 1000)
        results[name] = {z: {"tiles": len(t), "median_ms": statistics.median(t), "max_ms": max(t)}
                         for z, t in per_zoom.items()}
    return results


# --- Cached load ----------------------------------------------------------------------------------------

def cached_paths(rng: random.Random) -> list[str]:
    """A map's public tiles over the city: every assets tile at z13 and z14, a sample at z15-z17, and the
    neighbourhoods under them (z13-z16)."""
    paths = []
    for z, share in ((13, 1.0), (14, 1.0), (15, 0.6), (16, 0.25), (17, 0.08)):
        chosen = [t for t in tiles_over_box(z) if rng.random() < share]
        paths += [f"/tiles/assets/{z}/{x}/{y}.mvt" for _, x, y in chosen]
        if z <= 16:
            paths += [f"/tiles/neighbourhoods/{z}/{x}/{y}.mvt" for _, x, y in chosen if rng.random() < 0.3]
    rng.shuffle(paths)
    return paths


def warm(port: int, paths: list[str]) -> dict[int, int]:
    statuses: dict[int, int] = {}
    with ThreadPoolExecutor(3) as pool:
        for status, _, _ in pool.map(lambda p: get(port, p), paths):
            statuses[status] = statuses.get(status, 0) + 1
    return statuses


WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("start", threads * 7919) end
init = function(args) i = start or 0 end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%.3f %%.3f\\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.bytes, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def ensure_wrk() -> bool:
    if shutil.which("wrk"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (Debian package)…", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk") is not None


def load_wrk(port: int, paths_file: Path, seconds: float, connections: int) -> dict:
    script = OUT / "tiles_bench.lua"
    script.write_text(WRK_SCRIPT % paths_file)
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script),
                           f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    requests, bad_status, socket_errors, size, p50, p99 = line.split()[1:]
    return {"client": f"wrk (1 thread, {connections} connections)", "requests": int(requests),
            "seconds": seconds, "per_s": int(requests) / seconds, "non_2xx_3xx": int(bad_status),
            "socket_errors": int(socket_errors), "mean_kb": int(size) / max(1, int(requests)) / 1024,
            "p50_ms": float(p50), "p99_ms": float(p99)}


def _python_client(port: int, paths: list[str], stop_at: float, offset: int, queue) -> None:
    """GETs on raw sockets, one connection per request (gunicorn's sync workers close each one)."""
    done = bad = 0
    n = offset
    while time.perf_counter() < stop_at:
        n += 1
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(f"GET {paths[n % len(paths)]} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            first = s.recv(65536)
            while s.recv(65536):
                pass
        done += 1
        bad += not first.startswith((b"HTTP/1.1 200", b"HTTP/1.1 204"))
    queue.put((done, bad))


def load_python(port: int, paths: list[str], seconds: float, processes: int) -> dict:
    queue = multiprocessing.Queue()
    stop_at = time.perf_counter() + seconds
    children = [multiprocessing.Process(target=_python_client, args=(port, paths, stop_at, k * 7919, queue))
                for k in range(processes)]
    for child in children:
        child.start()
    results = [queue.get() for _ in children]
    for child in children:
        child.join()
    requests = sum(r[0] for r in results)
    return {"client": f"Python sockets ({processes} processes)", "requests": requests, "seconds": seconds,
            "per_s": requests / seconds, "non_2xx_3xx": sum(r[1] for r in results), "socket_errors": 0}




# --- Report ---------------------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def load(port: int, paths: list[str], paths_file: Path, args: argparse.Namespace, use_wrk: bool) -> dict:
    if use_wrk:
        return load_wrk(port, paths_file, args.seconds, args.connections)
    return load_python(port, paths, args.seconds, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1_000_000, help="stored requests (a fifth closed)")
    parser.add_argument("--work-orders", type=int, default=100_000, help="work orders (a fifth closed)")
    parser.add_argument("--reuse", action="store_true", help="measure again on the database an earlier run left")
    parser.add_argument("--z14-tiles", type=int, default=30)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="per round of cached load")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of cached load (the best counts)")
    parser.add_argument("--connections", type=int, default=12)
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    rng = random.Random(args.seed)
    base, cache_location = stack_urls()
    url = base.rsplit("/", 1)[0] + f"/{DB}"
    cache_url = cache_location.rsplit("/", 1)[0] + f"/{CACHE_DB}"
    # Celery messages (the imports' tile invalidations) go to an in-memory broker: no worker of the stack acts.
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgis://", 1), "CACHE_URL": cache_url,
           "DJANGO_LOG_LEVEL": "WARNING", "CELERY_BROKER_URL": "memory://",
           "CELERY_RESULT_BACKEND": "cache+memory://"}
    if args.reuse:
        manage(env, "migrate", "--no-input", "-v0")  # this checkout's schema and cell-count triggers
    else:
        print("setting up the bench database…", flush=True)
        setup_database(base, url, env, args)
    with psycopg.connect(url) as conn:
        srid = conn.execute("SELECT Find_SRID('public', 'registry_asset', 'geom')").fetchone()[0]
        sizes = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
                 ("registry_asset", "workorders_servicerequest", "workorders_workorder")}
        open_requests = conn.execute("SELECT count(*) FROM workorders_servicerequest "
                                     "WHERE status = 'open'").fetchone()[0]
    print(f"data: {sizes['registry_asset']:,} assets, {sizes['workorders_servicerequest']:,} requests "
          f"({open_requests:,} open), {sizes['workorders_workorder']:,} work orders "
          f"(setup {time.perf_counter() - started:.0f} s); load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores", flush=True)
    summary_fold(env)
    cookie = staff_session(env)
    cache = redis.Redis.from_url(cache_url)
    cache.flushdb()
    OUT.mkdir(parents=True, exist_ok=True)
    use_wrk = args.client == "wrk" and ensure_wrk()
    port = free_port()
    server = start_server(env, port)
    results: dict = {}
    try:
        results["rss_start_mb"] = rss_mb(server.pid)
        # Permissions first: a staff layer is not served to the public, cached or not.
        assert get(port, "/tiles/work_orders/12/1239/1515.mvt", {"Cookie": cookie})[0] == 200
        assert get(port, "/tiles/work_orders/12/1239/1515.mvt")[0] == 404
        compare_z14(port, url, cache, srid, dense_tiles(rng, 14, 3), 1)  # warm-up: connections, plans
        z14 = results["z14"] = compare_z14(port, url, cache, srid, dense_tiles(rng, 14, args.z14_tiles), args.reps)
        print(f"(1) dense z14 tiles, not cached, HTTP vs the bare ST_AsMVT query over the same rows "
              f"({args.z14_tiles} tiles x {args.reps}, medians):")
        for name, r in z14.items():
            what = "clusters (64x64 grid)" if r["clustered"] else "features"
            print(f"    {name:<9} {r['features']:>6,.0f} rows/tile as {what:<22} HTTP {r['http_ms']:6.1f} ms  "
                  f"bare {r['bare_ms']:6.1f} ms  -> {r['ratio']:.2f}x (target <= 1.2x) {verdict(r['ratio'] <= 1.2)}"
                  f"; tiles differing from the bare rows: {r['mismatched']}")
        low = results["low_zoom"] = low_zoom(port, cache, cookie, args.reps)
        print(f"(2) z <= 12 tiles over the box, clustered, built each time (median of {args.reps} per tile):")
        worst = 0.0
        for name, zooms in low.items():
            cells = "  ".join(f"z{z} {r['max_ms']:.0f}" for z, r in zooms.items() if z >= 8)
            slowest = max(r["max_ms"] for r in zooms.values())
            worst = max(worst, slowest)
            lowest = max(zooms[z]["max_ms"] for z in range(8))
            print(f"    {name:<11} slowest tile {slowest:6.1f} ms (z0-z7 {lowest:.0f}; slowest per zoom ms: {cells})")
        print(f"    slowest z <= 12 tile {worst:.1f} ms (target <= 100 ms) {verdict(worst <= 100)}")
        paths = cached_paths(rng)
        paths_file = OUT / "tiles_bench_paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        statuses = warm(port, paths)
        keys_before = cache.dbsize()
        rounds = [load(port, paths, paths_file, args, use_wrk) for _ in range(args.rounds)]
        best = results["cached"] = max(rounds, key=lambda r: r["per_s"])
        best["rounds_per_s"] = [r["per_s"] for r in rounds]
        built = cache.dbsize() - keys_before  # a tile missing from the cache would have been built and stored
        ok = (best["per_s"] >= 5000 and not any(r["non_2xx_3xx"] or r["socket_errors"] for r in rounds)
              and not built)
        extra = (f", mean {best['mean_kb']:.1f} kB, p50 {best['p50_ms']:.2f} ms, p99 {best['p99_ms']:.2f} ms"
                 if "p50_ms" in best else "")
        print(f"(3) cached tiles over {len(paths):,} addresses (warmed: {statuses}), {best['client']}, "
              f"{args.rounds} rounds of {args.seconds:.0f} s: "
              f"{', '.join(f'{r:,.0f}' for r in best['rounds_per_s'])} tiles/s; best {best['per_s']:,.0f}/s{extra}; "
              f"errors {sum(r['non_2xx_3xx'] for r in rounds)} status, {sum(r['socket_errors'] for r in rounds)} "
              f"socket; tiles built during the load {built} (target >= 5,000/s) {verdict(ok)}")
        results["rss_end_mb"] = rss_mb(server.pid)
        print(f"server memory (gunicorn master + {WORKERS} workers, RSS): {results['rss_start_mb']:.0f} MB at start, "
              f"{results['rss_end_mb']:.0f} MB after the run")
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The same load through Django alone (the fast path off), for scale.
    port = free_port()
    server = start_server({**env, "FIELDSVC_TILE_FAST_PATH": "0"}, port)
    try:
        django_only = results["cached_django_only"] = load(port, paths, paths_file, args, use_wrk)
        print(f"    the same through Django (FIELDSVC_TILE_FAST_PATH=0): {django_only['per_s']:,.0f} tiles/s "
              f"-> the fast path serves {best['per_s'] / django_only['per_s']:.1f}x as many")
    finally:
        server.terminate()
        server.wait(timeout=30)
    results["passed"] = {
        "z14": all(r["ratio"] <= 1.2 and not r["mismatched"] for r in z14.values()),
        "low_zoom": worst <= 100, "cached": ok}
    (OUT / "tiles_bench.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"total {time.perf_counter() - started:.0f} s; results in bench/out/tiles_bench.json")
    if not all(results["passed"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
