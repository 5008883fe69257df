"""Open311 intake under load: POST real Boston requests to gunicorn, then a nearby-cases query mix.

Issue #3 targets: at least 400 POST/s sustained with p99 <= 50 ms, none lost or duplicated; the
nearby query (GET requests.json?lat&long&radius) at most 1.5x the same PostGIS query run raw from
this process, with ~1M stored requests. Everything runs on this machine (loopback), in a database
of its own (fieldsvc_bench_intake), against the server as production runs it (gunicorn).

    scripts/stack.sh up && .venv/bin/python bench/intake_bench.py [--seconds 20] [--stored 1000000]
"""

import argparse
import csv
import gzip
import http.client
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import orjson
import psycopg
from stack_url import main_database_url, service_answers

ROOT = Path(__file__).resolve().parent.parent
PORT = 18311
DB = "fieldsvc_bench_intake"
BENCH_QUEUE = "fieldsvc-bench-intake"


def linking_messages(broker_url: str) -> tuple[int, list[int]]:
    """The linking tasks intake left on the bench queue: how many, and the request ids they carry."""
    import base64

    import redis

    ids, messages = [], redis.Redis.from_url(broker_url).lrange(f"{BENCH_QUEUE}.linking", 0, -1)
    for raw in messages:
        message = orjson.loads(raw)
        _, kwargs, _ = orjson.loads(base64.b64decode(message["body"]))
        ids.extend(kwargs.get("request_ids", []))
    return len(messages), ids


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def boston_cases(limit: int) -> list[dict]:
    rows = []
    with gzip.open(ROOT / "fixtures" / "boston" / "311_cases.csv.gz", "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["latitude"] and not row["latitude"].startswith("38.") and row["case_topic"]:
                rows.append(row)
            if len(rows) >= limit:
                break
    return rows


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True, cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL)


def setup_database(base_url: str, env: dict) -> None:
    admin = psycopg.connect(base_url, autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {DB}")
    admin.execute(f"CREATE DATABASE {DB}")
    admin.close()
    with psycopg.connect(base_url.rsplit("/", 1)[0] + f"/{DB}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    manage(env, "migrate", "-v0")
    seed = ("import yaml; from gis import services; r = yaml.safe_load(open('fixtures/registry.yaml')); "
            "services.registry_seed(departments=r['departments'], asset_types=r['asset_types'])")
    manage(env, "shell", "-c", seed)
    manage(env, "import_layer", "fixtures/boston/neighborhoods.geojson",
           "--mapping", "fixtures/mappings/boston_neighborhoods.yaml")
    manage(env, "load_catalogue")


def api_key(env: dict) -> str:
    out = subprocess.run([sys.executable, "manage.py", "open311_key", "create", "bench", "--rate-per-minute",
                          "10000000"], check=True, cwd=ROOT, env=env, capture_output=True, text=True).stdout
    return out.split(": ", 1)[1].split()[0]


def start_server(env: dict, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "fieldsvc.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/health")
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def answers_for(url: str) -> dict[str, dict[str, str]]:
    """A valid answer to every required question of every service, as a resident would give."""
    with psycopg.connect(url) as conn:
        return service_answers(conn)


def post_load(key: str, cases: list[dict], topics: dict, answers: dict, seconds: float, concurrency: int,
              run: str) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sent: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    counter = iter(range(10**9))

    def worker() -> None:
        while time.perf_counter() < stop_at:
            n = next(counter)
            case = cases[n % len(cases)]
            marker = f"bench-{run}-{n}"
            code = topics.get(case["case_topic"], "other")
            body = urllib.parse.urlencode({
                "api_key": key, "service_code": code,
                "lat": case["latitude"], "long": case["longitude"], "address_string": case["full_address"],
                "account_id": marker, "description": f"{case['case_topic']} (replayed load {n})",
                **answers.get(code, {}),
            })
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            start = time.perf_counter()
            connection.request("POST", "/open311/v2/requests.json", body=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            connection.close()
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status in (200, 201):
                    sent.append(marker)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"latencies": latencies, "statuses": statuses, "sent": sent, "wall": wall}


def store_requests(url: str, count: int) -> None:
    """~count requests spread over Boston, in SQL (the load phase measures intake, this only fills)."""
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM workorders_servicerequest").fetchone()[0]
        missing = count - have
        if missing <= 0:
            return
        conn.execute(f"""
            INSERT INTO workorders_servicerequest (created_at, updated_at, service_id, reference, status,
                detailed_status, status_notes, description, geom, address_string, address_id, zipcode,
                requested_at, closed_at, department_id, channel, attributes, media_urls, email, phone,
                first_name, last_name, device_id, account_id, payload_sha256)
            SELECT now(), now(), s.id, 'B' || ({have} + g), CASE WHEN g % 5 = 0 THEN 'closed' ELSE 'open' END,
                   'open', '', 'stored for the nearby benchmark',
                   ST_SetSRID(ST_MakePoint(225000 + random() * 20000, 890000 + random() * 16000), 26986),
                   '', '', '', t.at, CASE WHEN g % 5 = 0 THEN t.at END, s.department_id, 'web', '{{}}', '[]',
                   '', '', '', '', '', '', ''
              FROM generate_series(1, {missing}) AS g
              CROSS JOIN LATERAL (SELECT now() - (random() * interval '80 days') + g * interval '0 s' AS at) AS t
              CROSS JOIN LATERAL (SELECT id, department_id FROM workorders_service ORDER BY id
                                  OFFSET (g % 70) LIMIT 1) AS s
        """)
        conn.execute("VACUUM ANALYZE workorders_servicerequest")


# The nearby question asked by hand: the same fields a GET returns (service and department joined,
# the point in WGS84, one ST_Transform per row), nearest first, in the default 90-day window.
RAW_NEARBY = """
    SELECT r.id, r.status, r.status_notes, s.name, s.code, r.description, d.name, s.notice, r.requested_at,
           r.updated_at, r.closed_at, r.expected_at, r.address_string, r.address_id, r.zipcode,
           ST_X(p.wgs84), ST_Y(p.wgs84), r.media_urls
      FROM workorders_servicerequest r
      JOIN workorders_service s ON s.id = r.service_id
      JOIN registry_department d ON d.id = r.department_id
      CROSS JOIN LATERAL (SELECT ST_Transform(r.geom, 4326) AS wgs84) p
     WHERE ST_DWithin(r.geom, ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 26986), %(radius)s)
       AND r.requested_at >= now() - interval '90 days'
     ORDER BY r.geom <-> ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 26986)
     LIMIT 1000
"""


def nearby_mix(url: str, points: list[tuple[float, float]], radius_m: float) -> tuple[list[float], list[float]]:
    http_times, raw_times = [], []
    with psycopg.connect(url) as conn:
        for lon, lat in points:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            start = time.perf_counter()
            connection.request("GET", f"/open311/v2/requests.json?lat={lat}&long={lon}&radius={radius_m}")
            body = connection.getresponse().read()
            http_times.append(time.perf_counter() - start)
            connection.close()
            orjson.loads(body)
            start = time.perf_counter()
            conn.execute(RAW_NEARBY, {"lon": lon, "lat": lat, "radius": radius_m}).fetchall()
            raw_times.append(time.perf_counter() - start)
    return http_times, raw_times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--radius", type=float, default=250)
    args = parser.parse_args()
    base = main_database_url()
    url = base.rsplit("/", 1)[0] + f"/{DB}"
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgis://", 1),
           "FIELDSVC_OPEN311_RATE_PER_ADDRESS": "100000000", "DJANGO_LOG_LEVEL": "WARNING",
           # Intake publishes a linking task per request to the real broker (its cost is measured), on a
           # queue of the bench's own that no worker of the stack consumes; it is emptied at the end.
           "CELERY_TASK_DEFAULT_QUEUE": BENCH_QUEUE}
    print("setting up the bench database…", flush=True)
    setup_database(base, env)
    key = api_key(env)
    with psycopg.connect(url) as conn:
        topics = {}
        for code, source_topics in conn.execute("SELECT code, source_topics FROM workorders_service"):
            for topic in source_topics:
                topics[topic] = code
    cases = boston_cases(20_000)
    random.Random(7).shuffle(cases)
    server = start_server(env, args.workers)
    try:
        answers = answers_for(url)
        post_load(key, cases[:200], topics, answers, 3, args.concurrency, "warm")  # connections, caches
        result = post_load(key, cases, topics, answers, args.seconds, args.concurrency, "main")
        lat = [x * 1000 for x in result["latencies"]]
        ok = len(result["sent"])
        with psycopg.connect(url) as conn:
            stored = dict(conn.execute(
                "SELECT account_id, count(*) FROM workorders_servicerequest WHERE account_id LIKE 'bench-main-%%' "
                "GROUP BY account_id").fetchall())
        lost = [m for m in result["sent"] if m not in stored]
        doubled = [m for m, n in stored.items() if n > 1]
        errors = sum(n for code, n in result["statuses"].items() if code >= 400)
        print(f"POST: {ok / result['wall']:.0f} requests/s over {result['wall']:.1f} s "
              f"({args.workers} gunicorn workers, {args.concurrency} clients); statuses {result['statuses']}")
        print(f"POST latency ms: p50 {percentile(lat, .5):.1f}  p95 {percentile(lat, .95):.1f}  "
              f"p99 {percentile(lat, .99):.1f}; errors {errors}; lost {len(lost)}; duplicated {len(doubled)}")
        passed = ok / result["wall"] >= 400 and percentile(lat, .99) <= 50 and not lost and not doubled
        print(f"  target >= 400/s with p99 <= 50 ms, 0 lost or duplicated -> {'PASS' if passed else 'FAIL'}")
        print(f"filling to {args.stored:,} stored requests…", flush=True)
        store_requests(url, args.stored)
        rng = random.Random(11)
        points = [(float(c["longitude"]), float(c["latitude"])) for c in rng.sample(cases, args.queries)]
        nearby_mix(url, points[:20], args.radius)  # warm-up
        http_times, raw_times = nearby_mix(url, points, args.radius)
        h, r = statistics.median(http_times) * 1000, statistics.median(raw_times) * 1000
        print(f"nearby (radius {args.radius:.0f} m, {args.queries} points): HTTP median {h:.2f} ms, "
              f"p95 {percentile(http_times, .95) * 1000:.2f} ms; raw SQL median {r:.2f} ms -> ratio {h / r:.2f}x "
              f"(target <= 1.5x) {'PASS' if h / r <= 1.5 else 'FAIL'}")
        server.terminate()
        server.wait(timeout=30)  # web processes send the ids they still hold as they exit
        from django.conf import settings  # set up by main_database_url()

        count, linked = linking_messages(settings.CELERY_BROKER_URL)
        with psycopg.connect(url) as conn:
            pending = {pk for (pk,) in conn.execute("SELECT request_id FROM workorders_requestlink "
                                                    "WHERE request_id IN (SELECT id FROM workorders_servicerequest "
                                                    "WHERE account_id LIKE 'bench-%%')")}
        print(f"linking tasks: {count} messages carrying {len(linked)} request ids for {len(pending)} requests "
              f"taken; {len(pending - set(linked))} not sent (the sweeper's), {len(linked) - len(set(linked))} twice")
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run([sys.executable, "-m", "celery", "-A", "fieldsvc", "purge", "-f", "-Q",
                        f"{BENCH_QUEUE},{BENCH_QUEUE}.linking,{BENCH_QUEUE}.tiles,{BENCH_QUEUE}.notifications"],
                       cwd=ROOT, env=env, capture_output=True)


if __name__ == "__main__":
    main()
