"""Scale-out on one machine: nearby-case and WFS reads on the streaming replica while the primary takes Open311
intake, the replica's delay under that load, and intake linking with 1 against 2 processes on the linking queue.

In a database of its own (fieldsvc_bench_replica) on the local primary, which the replica (scripts/stack.sh,
port 55433) copies like every other; gunicorn as the demo runs it. The same load runs twice, reads on the
primary then on the replica, so the ratios compare like with like in one run. On two cores the replica and
the primary share the CPUs: what this shows is that moving reads costs nothing and that the copy keeps up;
the capacity a second machine adds is extrapolated in docs/scaling.md, not measured here.
Read-your-writes is turned off (FIELDSVC_READ_YOUR_WRITES_S=0): the bench's writers and readers share one address.

    scripts/stack.sh up && .venv/bin/python bench/replica_bench.py [--seconds 15] [--stored 200000]
"""

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import intake_bench as ib
import psycopg
from stack_url import main_database_url

ROOT = Path(__file__).resolve().parent.parent
DB = "fieldsvc_bench_replica"
PORT = 18312
QUEUE = "fieldsvc-bench-replica"  # its kinds' queues are fieldsvc-bench-replica.linking and so on
ib.DB, ib.PORT = DB, PORT  # intake_bench's database set-up, POST load and request filler, on our database


WFS_PAGE = ("/wfs/?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=asset_streetlight&COUNT=500"
            "&OUTPUTFORMAT=geojson&STARTINDEX={start}")


def read_load(points: list[tuple[float, float]], seconds: float, concurrency: int, radius_m: float) -> dict:
    """Each reader asks nearby cases three times, then a page of 500 streetlights from WFS, in a loop."""
    times: list[float] = []
    wfs_times: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def reader(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        asked = 0
        while time.perf_counter() < stop_at:
            lon, lat = rng.choice(points)
            wfs = asked % 4 == 3
            path = (WFS_PAGE.format(start=rng.randrange(0, 5000, 500)) if wfs
                    else f"/open311/v2/requests.json?lat={lat}&long={lon}&radius={radius_m}")
            asked += 1
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            start = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            connection.close()
            with lock:
                (wfs_times if wfs else times).append(elapsed)
                errors += response.status != 200

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"times": times, "wfs_times": wfs_times, "errors": errors, "wall": seconds}


def delays(primary_url: str, replica_url: str, stop: threading.Event, out: list[float], bytes_behind: list[int],
           polls: list[int]):
    """Every 0.2 s: a row committed on the primary, and the time until the replica shows it; the WAL bytes
    the replica has still to replay. ``polls``: the transactions this made on the replica."""
    with psycopg.connect(primary_url, autocommit=True) as primary, psycopg.connect(replica_url,
                                                                                   autocommit=True) as standby:
        while not stop.is_set():
            (beat,) = primary.execute("INSERT INTO bench_heartbeat DEFAULT VALUES RETURNING id").fetchone()
            start = time.perf_counter()
            polls.append(2)  # the last look, and the WAL position below
            while not standby.execute("SELECT 1 FROM bench_heartbeat WHERE id = %s", [beat]).fetchone():
                polls.append(1)
                time.sleep(0.001)
            out.append(time.perf_counter() - start)
            (lsn,) = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
            (behind,) = standby.execute("SELECT pg_wal_lsn_diff(%s, pg_last_wal_replay_lsn())", [lsn]).fetchone()
            bytes_behind.append(int(behind))
            time.sleep(0.2)


def replica_commits(replica_url: str) -> int:
    with psycopg.connect(replica_url, autocommit=True) as standby:
        return standby.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [DB]).fetchone()[0]


def linking_round(env: dict, ids: list[int], processes: int, chunk: int) -> float:
    """Seconds for ``processes`` worker processes on the linking queue to link ``ids`` again, sent as intake
    sends them (coalesced batches of ``chunk``)."""
    from fieldsvc.celery import app

    name = f"{QUEUE}-linking-{processes}"
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "fieldsvc", "worker", "-Q", f"{QUEUE}.linking",
                               "-c", str(processes), "-n", f"{name}@%h", "--loglevel", "WARNING"], cwd=ROOT, env=env)
    try:
        while not any(name in w for reply in app.control.ping(timeout=1) or [] for w in reply):
            if worker.poll() is not None:
                raise SystemExit("the linking worker did not start")
        start = time.perf_counter()
        results = [app.send_task("workorders.tasks.requests_link_task", queue=f"{QUEUE}.linking",
                                 kwargs={"request_ids": ids[i:i + chunk], "force": True})
                   for i in range(0, len(ids), chunk)]
        for result in results:
            result.get(timeout=600)
        return time.perf_counter() - start
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def pct(values: list[float], q: float) -> float:
    return ib.percentile(values, q)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--stored", type=int, default=200_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--radius", type=float, default=250)
    parser.add_argument("--rounds", type=int, default=2, help="primary and replica alternately, this many times")
    parser.add_argument("--link", type=int, default=3000, help="requests linked again by 1, then 2 processes")
    args = parser.parse_args()
    base = main_database_url()
    from django.conf import settings

    if "replica" not in settings.DATABASES:
        raise SystemExit("no replica: scripts/stack.sh up makes one (or set DATABASE_REPLICA_URL)")
    url = base.rsplit("/", 1)[0] + f"/{DB}"
    replica = settings.DATABASES["replica"]
    replica_url = f"postgresql://{replica['USER']}:{replica['PASSWORD']}@{replica['HOST']}:{replica['PORT']}/{DB}"
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgis://", 1),
           "DATABASE_REPLICA_URL": replica_url.replace("postgresql://", "postgis://", 1),
           "FIELDSVC_OPEN311_RATE_PER_ADDRESS": "100000000", "DJANGO_LOG_LEVEL": "WARNING", "FIELDSVC_PLAIN_HTTP": "1",
           "FIELDSVC_READ_YOUR_WRITES_S": "0", "CELERY_TASK_DEFAULT_QUEUE": QUEUE}
    print("setting up the bench database…", flush=True)
    ib.setup_database(base, env)
    ib.manage(env, "load_demo")  # assets for linking to find
    key = ib.api_key(env)
    ib.store_requests(url, args.stored)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_heartbeat (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())")
        topics = {topic: code for code, source in conn.execute("SELECT code, source_topics FROM workorders_service")
                  for topic in source}
    cases = ib.boston_cases(20_000)
    random.Random(7).shuffle(cases)
    answers = ib.answers_for(url)
    points = [(float(c["longitude"]), float(c["latitude"])) for c in random.Random(11).sample(cases, 300)]
    figures: dict[str, list[tuple[float, float, float]]] = {"primary": [], "replica": []}
    try:
        for n, where in enumerate(["primary", "replica"] * args.rounds):
            server = ib.start_server({**env, "FIELDSVC_REPLICA_READS": "1" if where == "replica" else "0"}, 4)
            try:
                ib.post_load(key, cases[:100], topics, answers, 2, 2, f"warm-{n}-{where}")
                read_load(points, 2, 2, args.radius)
                commits_before = replica_commits(replica_url)
                stop, seen, behind, polls = threading.Event(), [], [], []
                sampler = threading.Thread(target=delays, args=(url, replica_url, stop, seen, behind, polls))
                sampler.start()
                box: dict = {}
                writer = threading.Thread(target=lambda box=box, run=f"main-{n}-{where}": box.update(ib.post_load(
                    key, cases, topics, answers, args.seconds, args.writers, run)))
                writer.start()
                reads = read_load(points, args.seconds, args.readers, args.radius)
                writer.join()
                stop.set()
                sampler.join()
                time.sleep(1.5)  # PostgreSQL publishes its counters about once a second
                served = replica_commits(replica_url) - commits_before - sum(polls)
            finally:
                server.terminate()
                server.wait(timeout=30)
            posts = len(box["sent"]) / box["wall"]
            figures[where].append((posts, len(reads["times"]) / reads["wall"], statistics.median(reads["times"])))
            print(f"reads on the {where}: {len(reads['times']) / reads['wall']:.0f} nearby GET/s "
                  f"(p50 {statistics.median(reads['times']) * 1000:.1f} ms, p95 {pct(reads['times'], .95) * 1000:.1f}"
                  f" ms; WFS pages of 500 {len(reads['wfs_times']) / reads['wall']:.1f}/s, p50 "
                  f"{statistics.median(reads['wfs_times']) * 1000:.0f} ms; {reads['errors']} errors) "
                  f"while intake took {posts:.0f} POST/s "
                  f"(p99 {pct(box['latencies'], .99) * 1000:.1f} ms); transactions of the web on the replica: {served}")
            print(f"  replica delay (commit on the primary -> visible on the replica), {len(seen)} samples: "
                  f"p50 {statistics.median(seen) * 1000:.1f} ms, p95 {pct(seen, .95) * 1000:.1f} ms, "
                  f"max {max(seen) * 1000:.1f} ms; WAL still to replay p50 {statistics.median(behind) / 1024:.0f} kB,"
                  f" max {max(behind) / 1024:.0f} kB")
        (p_posts, p_reads, p_med), (r_posts, r_reads, r_med) = (
            [statistics.median(column) for column in zip(*figures[side], strict=True)]
            for side in ("primary", "replica"))
        print(f"replica/primary, medians of {args.rounds} rounds each: reads {r_reads / p_reads:.2f}x, "
              f"read p50 {r_med / p_med:.2f}x, intake {r_posts / p_posts:.2f}x (same 2 cores)")
        subprocess.run([sys.executable, "-m", "celery", "-A", "fieldsvc", "purge", "-f", "-Q",
                        ",".join([QUEUE] + [f"{QUEUE}.{k}" for k in settings.FIELDSVC_CELERY_QUEUE_KINDS])],
                       cwd=ROOT, env=env, capture_output=True)
        with psycopg.connect(url) as conn:
            ids = [pk for (pk,) in conn.execute(
                "SELECT id FROM workorders_servicerequest WHERE account_id LIKE 'bench-main-%%' ORDER BY id "
                "LIMIT %s", [args.link])]
        linking_round(env, ids[:200], 1, 25)  # warm: the registry's pages in memory
        one = linking_round(env, ids, 1, 25)
        two = linking_round(env, ids, 2, 25)
        print(f"linking queue, {len(ids)} requests in batches of 25: 1 process {len(ids) / one:.0f}/s, "
              f"2 processes {len(ids) / two:.0f}/s ({one / two:.2f}x)")
    finally:
        subprocess.run([sys.executable, "-m", "celery", "-A", "fieldsvc", "purge", "-f", "-Q",
                        ",".join([QUEUE] + [f"{QUEUE}.{k}" for k in settings.FIELDSVC_CELERY_QUEUE_KINDS])],
                       cwd=ROOT, env=env, capture_output=True)


if __name__ == "__main__":
    main()
