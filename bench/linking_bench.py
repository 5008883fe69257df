"""Linking service requests to assets at city scale: four ways of doing the same spatial work, compared.

The real demo registry (load_demo) is replicated on tiles 30 km apart until it holds ~1M assets and ~100k
utility segments, and 100k pending reports are placed 0-40 m from random compatible assets (5% over a
utility line), in a database of its own (fieldsvc_bench_linking). Then, in this process: (a) a naive
per-report ORM Distance query on a small sample, (b) the intake path, request_link (one PostGIS KNN
round trip per report), on 2000 reports, (c) the batch path, requests_link_batch, over all reports,
and (d) a lower bound, the same spatial queries on shapely STRtrees with no routing and no writes (run
before and after (c), the faster counts). Targets: batch >= 100x naive, batch <= 1.5x the bound,
intake p95 <= 10 ms. The batch's links are then checked against a plain-SQL nearest-asset scan.

    scripts/stack.sh up && .venv/bin/python bench/linking_bench.py [--assets 1000000] [--utilities 100000] [--reports 100000]
"""  # noqa: E501 (the usage line stays whole, to be copied)

import argparse
import gc
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import psycopg
import shapely

ROOT = Path(__file__).resolve().parent.parent
DB = "fieldsvc_bench_linking"
TILE_M = 30_000  # wider than the demo registry (~18 x 21 km), so no copy overlaps another
TILE_COLUMNS = 8
LINE_ANCHOR = 0  # anchor "type" of points on utility lines (asset type ids start at 1)
# Descriptions that the demo routing rules (fixtures/catalogue/routing_rules.yaml) react to, so routing
# weighs words and utilities and the batch stores some re-routed requests, as it would in production.
UTILITY_WORDS = ["pavement sinking over the drain", "road caving in near the manhole", "deep pothole by the drain"]
RULE_WORDS = ["the sidewalk is sinking here", "water bubbling up from the street", "sewage smell from the drain",
              "exposed wires at the pole"]
WARM_UP, INTAKE_SAMPLE, NAIVE_SAMPLE, CHECK_SAMPLE = 50, 2000, 20, 200


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- Setup ------------------------------------------------------------------------------------------

def stack_base_url() -> str:
    """The stack database's URL, asked of a child process: main_database_url() sets Django up, and this
    process must set Django up once only, on the bench database."""
    code = "from stack_url import main_database_url; print(main_database_url())"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT / "bench", check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


def bench_environment(url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url.replace("postgresql://", "postgis://", 1), "DJANGO_LOG_LEVEL": "WARNING",
        # Imports announce registry changes to Celery; the stack's worker would re-link requests in its own
        # database, so the bench's tasks go to an in-memory broker and die with the process.
        "CELERY_BROKER_URL": "memory://", "CELERY_RESULT_BACKEND": "cache+memory://",
    }


def manage(*args: str) -> None:
    """Run a management command on the bench database; its output (import progress bars) only on failure."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=os.environ, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def create_database(base_url: str, url: str) -> None:
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    manage("migrate", "-v0")
    manage("load_demo")  # registry: departments, asset types, districts, assets, storm network
    manage("load_catalogue")  # services and the demo routing rules (fixtures/catalogue/routing_rules.yaml)


def replicate(conn: psycopg.Connection, table: str, columns: str, values: str, target: int) -> int:
    """Copy the table's rows onto further tiles until about ``target`` rows; ``values`` is the SELECT list,
    with {k} for the tile number and {dx}, {dy} for its offset. Returns the number of tiles."""
    base = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    tiles = max(1, round(target / base))
    dx, dy = f"(k % {TILE_COLUMNS}) * {TILE_M}", f"(k / {TILE_COLUMNS}) * {TILE_M}"
    conn.execute(f"INSERT INTO {table} ({columns}, created_at, updated_at) "
                 f"SELECT {values.format(k='k', dx=dx, dy=dy)}, now(), now() "
                 f"FROM {table} CROSS JOIN generate_series(1, {tiles - 1}) AS k")
    return tiles


def grow_registry(conn: psycopg.Connection, assets: int, utilities: int) -> None:
    replicate(conn, "registry_asset", "asset_type_id, external_id, geom, status, attributes",
              "asset_type_id, external_id || '#' || {k}, ST_Translate(geom, {dx}, {dy}), status, '{{}}'", assets)
    # Structures follow their lines: the same tiles, so each copied network keeps its manholes.
    tiles = replicate(
        conn, "registry_utilityline",
        "kind, line_type, external_id, geom, material, diameter_mm, depth_m, install_year, owner, status, "
        "attributes, department_id",
        "kind, line_type, external_id || '#' || {k}, ST_Translate(geom, {dx}, {dy}), material, diameter_mm, "
        "depth_m, install_year, owner, status, '{{}}', department_id", utilities)
    base = conn.execute("SELECT count(*) FROM registry_utilitystructure").fetchone()[0]
    replicate(conn, "registry_utilitystructure",
              "kind, structure_type, external_id, geom, depth_m, owner, status, attributes, department_id",
              "kind, structure_type, external_id || '#' || {k}, ST_Translate(geom, {dx}, {dy}), depth_m, owner, "
              "status, '{{}}', department_id", base * tiles)


def make_anchors(conn: psycopg.Connection) -> dict[int, int]:
    """A temp table of places reports can be near: one point on every linkable asset (numbered n within
    its type) and on every utility line; returns how many each type has."""
    from gis.spatial.linking import LINKABLE_ASSET_STATUSES

    conn.execute(f"""
        CREATE TEMP TABLE anchor AS
        SELECT asset_type_id AS type_id, row_number() OVER (PARTITION BY asset_type_id ORDER BY id) AS n,
               CASE GeometryType(geom) WHEN 'POINT' THEN geom
                    WHEN 'LINESTRING' THEN ST_LineInterpolatePoint(geom, random())
                    ELSE ST_PointOnSurface(geom) END AS pt
          FROM registry_asset WHERE status = ANY(%s)
        UNION ALL
        SELECT {LINE_ANCHOR}, row_number() OVER (ORDER BY id), ST_LineInterpolatePoint(geom, random())
          FROM registry_utilityline""", [list(LINKABLE_ASSET_STATUSES)])
    conn.execute("CREATE INDEX ON anchor (type_id, n)")
    return dict(conn.execute("SELECT type_id, count(*) FROM anchor GROUP BY type_id").fetchall())


def catalogue(conn: psycopg.Connection) -> list[tuple[int, int, list[int]]]:
    """(service id, department id, asset type ids) of every active service."""
    return conn.execute(
        "SELECT s.id, s.department_id, array_remove(array_agg(t.assettype_id ORDER BY t.id), NULL) "
        "FROM workorders_service s LEFT JOIN workorders_service_asset_types t ON t.service_id = s.id "
        "WHERE s.active GROUP BY s.id ORDER BY s.id").fetchall()


def plan_reports(count: int, services: list[tuple[int, int, list[int]]], anchors: dict[int, int], road_type: int,
                 rng: random.Random) -> list[tuple]:
    """(g, service, department, anchor type, anchor n, dx, dy, description) per report: 75% of a service
    that takes assets, near one of its types; 20% of one that takes none (near any asset); 5% reported as
    a road defect a few metres off a utility line, mostly in words the demo routing rules look for."""
    typed = [s for s in services if any(t in anchors for t in s[2])]
    untyped = [s for s in services if not s[2]]
    road = [s for s in typed if road_type in s[2]]
    asset_types = [t for t in anchors if t != LINE_ANCHOR]
    rows = []
    for g in range(count):
        roll = rng.random()
        if roll < 0.05:
            service, anchor, reach = rng.choice(road), LINE_ANCHOR, 8.0
            description = rng.choice(UTILITY_WORDS)
        else:
            if roll < 0.25:
                service = rng.choice(untyped)
                anchor = rng.choices(asset_types, weights=[anchors[t] for t in asset_types])[0]
            else:
                service = rng.choice(typed)
                anchor = rng.choice([t for t in service[2] if t in anchors])
            reach = 40.0
            description = rng.choice(RULE_WORDS) if rng.random() < 0.05 else "reported from the app"
        distance, angle = rng.uniform(0, reach), rng.uniform(0, 2 * math.pi)
        rows.append((g, service[0], service[1], anchor, rng.randint(1, anchors[anchor]),
                     distance * math.cos(angle), distance * math.sin(angle), description))
    return rows


def insert_reports(conn: psycopg.Connection, count: int, rng: random.Random) -> None:
    """``count`` open requests near their anchors, each with a pending link row (as intake leaves it)."""
    anchors = make_anchors(conn)
    road_type = conn.execute("SELECT id FROM registry_assettype WHERE code = 'road-segment'").fetchone()[0]
    plan = plan_reports(count, catalogue(conn), anchors, road_type, rng)
    conn.execute("CREATE TEMP TABLE report_plan (g int, service_id bigint, department_id bigint, type_id bigint, "
                 "n bigint, dx float8, dy float8, description text)")
    with conn.cursor().copy("COPY report_plan FROM STDIN") as copy:
        for row in plan:
            copy.write_row(row)
    conn.execute("""
        INSERT INTO workorders_servicerequest (created_at, updated_at, service_id, reference, status,
            detailed_status, status_notes, description, geom, address_string, address_id, zipcode, requested_at,
            closed_at, department_id, channel, attributes, media_urls, email, phone, first_name, last_name,
            device_id, account_id, payload_sha256)
        SELECT now(), now(), p.service_id, 'LB' || p.g, 'open', 'open', '', p.description,
               ST_Translate(a.pt, p.dx, p.dy), '', '', '', now(), NULL, p.department_id, 'open311', '{}', '[]',
               '', '', '', '', '', '', ''
          FROM report_plan p JOIN anchor a ON a.type_id = p.type_id AND a.n = p.n ORDER BY p.g""")
    conn.execute("INSERT INTO workorders_requestlink (request_id, state, asset_claim, asset_outcome, utilities, "
                 "priority, explanation) SELECT id, 'pending', '', '', '[]', 3, '' FROM workorders_servicerequest")
    conn.execute("DROP TABLE anchor, report_plan")


def setup(base_url: str, url: str, args: argparse.Namespace) -> None:
    create_database(base_url, url)
    with psycopg.connect(url, autocommit=True) as conn:
        grow_registry(conn, args.assets, args.utilities)
        insert_reports(conn, args.reports, random.Random(args.seed))
        conn.execute("VACUUM ANALYZE")


def reset_links(url: str) -> None:
    """--reuse: back to what intake leaves (links pending, requests as reported, with their service's
    department)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE workorders_servicerequest r SET service_id = l.reclassified_from_id "
                     "FROM workorders_requestlink l WHERE l.request_id = r.id AND l.reclassified_from_id IS NOT NULL")
        conn.execute("UPDATE workorders_requestlink SET state = 'pending', linked_at = NULL, "
                     "reclassified_from_id = NULL")
        conn.execute("UPDATE workorders_servicerequest r SET department_id = s.department_id "
                     "FROM workorders_service s WHERE s.id = r.service_id AND r.department_id <> s.department_id")
        conn.execute("DELETE FROM workorders_requestnote WHERE author = 'routing'")


def sizes(url: str) -> str:
    with psycopg.connect(url) as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
            "registry_asset", "registry_utilityline", "registry_utilitystructure", "workorders_servicerequest")]
    return "{:,} assets, {:,} utility lines, {:,} structures, {:,} reports".format(*counts)


# --- The four paths ---------------------------------------------------------------------------------

def reports() -> list[tuple[int, int, float, float]]:
    """(id, service id, x, y) of every located report, in the storage CRS; the service as reported, which
    linking starts from (routing may have reclassified the request since)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT r.id, COALESCE(l.reclassified_from_id, r.service_id), ST_X(r.geom), ST_Y(r.geom) "
                       "FROM workorders_servicerequest r JOIN workorders_requestlink l ON l.request_id = r.id "
                       "WHERE r.geom IS NOT NULL ORDER BY r.id")
        return cursor.fetchall()


def naive(sample: list[tuple[int, int, float, float]]) -> float:
    """Seconds per report for the obvious ORM query: distance to every asset of the service's types (the
    first report only warms up: query compilation, caches)."""
    from django.conf import settings
    from django.contrib.gis.db.models.functions import Distance
    from django.contrib.gis.geos import Point

    from gis.models import Asset
    from workorders import cached

    services = cached.catalogue()
    times = []
    for _, service_id, x, y in sample:
        type_ids = [t.pk for t in services.asset_types[service_id]]
        snap = services.by_id[service_id].snap_distance_m
        point = Point(x, y, srid=settings.FIELDSVC_STORAGE_SRID)
        start = time.perf_counter()
        (Asset.objects.filter(asset_type_id__in=type_ids).annotate(d=Distance("geom", point))
         .filter(d__lte=snap).order_by("d").first())
        times.append(time.perf_counter() - start)
    return statistics.mean(times[1:])


def intake(ids: list[int]) -> list[float]:
    """Seconds per request_link call over ``ids`` (the caller warms up first)."""
    from workorders.linking import request_link

    times = []
    for pk in ids:
        start = time.perf_counter()
        request_link(request_id=pk, force=True)
        times.append(time.perf_counter() - start)
    return times


def batch(ids: list[int]) -> float:
    from workorders.linking import requests_link_batch

    start = time.perf_counter()
    done = requests_link_batch(request_ids=ids, force=True)
    elapsed = time.perf_counter() - start
    assert done == len(ids), (done, len(ids))
    return elapsed


def strtree_bound() -> float:
    """Seconds to load the registry into STRtrees, read the reports and run the batch's spatial queries:
    what the batch cannot beat without changing the algorithm (no routing, no writes)."""
    from django.conf import settings

    from gis.registry_index import RegistryIndex
    from workorders import cached

    services = cached.catalogue()
    type_ids = {t.pk for types in services.asset_types.values() for t in types}
    start = time.perf_counter()
    index = RegistryIndex(type_ids=type_ids, utility_radius_m=max(settings.FIELDSVC_UTILITY_BUFFER_M.values()))
    rows = reports()
    points = shapely.points(np.array([(x, y) for _, _, x, y in rows], dtype=float).reshape(-1, 2))
    groups: dict[int, list[int]] = defaultdict(list)
    for n, (_, service_id, _, _) in enumerate(rows):
        groups[service_id].append(n)
    for service_id, members in groups.items():
        index.asset_candidates(points[members], type_ids=[t.pk for t in services.asset_types[service_id]],
                               radius_m=services.by_id[service_id].snap_distance_m)
    index.utilities(points)
    elapsed = time.perf_counter() - start
    del index
    gc.collect()  # the batch builds its own trees: don't make it share memory with these
    return elapsed


# --- Checks -----------------------------------------------------------------------------------------

def linked_assets(ids: list[int]) -> dict[int, int | None]:
    from workorders.models import RequestLink

    return dict(RequestLink.objects.filter(pk__in=ids).values_list("pk", "asset_id"))


def unlinked() -> int:
    from workorders.models import LinkState, RequestLink

    return RequestLink.objects.exclude(state=LinkState.LINKED).count()


def cross_check(sample: list[tuple[int, int, float, float]]) -> tuple[int, int, int]:
    """(agree, ties, mismatches) between the batch's asset and the nearest compatible linkable asset within
    the snap distance found by a full scan (no index, no KNN). A tie: both within NEAR_TIE_M of the best."""
    from django.db import connection

    from gis.matching import NEAR_TIE_M
    from gis.spatial.linking import LINKABLE_ASSET_STATUSES
    from workorders import cached

    services = cached.catalogue()
    stored = linked_assets([pk for pk, *_ in sample])
    agree = ties = mismatches = 0
    with connection.cursor() as cursor:
        for pk, service_id, _, _ in sample:
            cursor.execute(
                "SELECT a.id, ST_Distance(a.geom, r.geom) FROM registry_asset a, workorders_servicerequest r "
                "WHERE r.id = %s AND a.asset_type_id = ANY(%s) AND a.status = ANY(%s) "
                "ORDER BY ST_Distance(a.geom, r.geom) LIMIT 1",
                [pk, [t.pk for t in services.asset_types[service_id]], list(LINKABLE_ASSET_STATUSES)])
            best = cursor.fetchone()
            expected = best[0] if best and best[1] <= services.by_id[service_id].snap_distance_m else None
            got = stored[pk]
            if got == expected:
                agree += 1
                continue
            if got is not None and expected is not None:
                cursor.execute("SELECT ST_Distance(a.geom, r.geom) FROM registry_asset a, workorders_servicerequest r "
                               "WHERE a.id = %s AND r.id = %s", [got, pk])
                if abs(cursor.fetchone()[0] - best[1]) <= NEAR_TIE_M:
                    ties += 1
                    continue
            mismatches += 1
            print(f"  mismatch: request {pk} linked to {got}, nearest within snap is {expected} "
                  f"({best[1] if best else None} m)")
    return agree, ties, mismatches


def outcomes() -> str:
    from django.db.models import Count

    from workorders.models import RequestLink, RequestNote

    by = dict(RequestLink.objects.values("asset_outcome").annotate(n=Count("pk")).values_list("asset_outcome", "n"))
    total = sum(by.values())
    beneath = RequestLink.objects.exclude(utilities=[]).count()
    moved = RequestNote.objects.filter(author="routing").count()
    shares = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(by.items(), key=lambda kv: -kv[1]))
    return f"{shares}; utilities beneath {beneath:,}; re-routed by a rule {moved:,}"


# --- Main -------------------------------------------------------------------------------------------

def measure(rng: random.Random, url: str) -> dict:
    """All four paths and the checks, in an order that is fair to each: the bound runs before and after
    the first batch (caches warm either way), intake before the batch so the batch re-links what intake
    did; the batch runs twice (links reset in between) so that both it and the bound are a best of two."""
    from workorders import cached

    rows = reports()
    ids = [pk for pk, *_ in rows]
    typed = [r for r in rows if cached.catalogue().asset_types[r[1]]]
    out: dict = {"n": len(ids), "bounds": [strtree_bound()]}
    # Naive on reports whose service takes assets (the others need no query on any path), then spread
    # over all reports by that share, so its reports/s compares with the batch's.
    out["naive_s"] = naive(rng.sample(typed, NAIVE_SAMPLE + 1)) * len(typed) / len(ids)
    picked = rng.sample(ids, WARM_UP + INTAKE_SAMPLE)
    intake(picked[:WARM_UP])
    out["intake_ms"] = [t * 1000 for t in intake(picked[WARM_UP:])]
    by_intake = linked_assets(picked[WARM_UP:])
    out["batches"] = [batch(ids)]
    out["left"] = unlinked()
    out["bounds"].append(strtree_bound())
    by_batch = linked_assets(picked[WARM_UP:])
    out["differ"] = sum(by_intake[pk] != by_batch[pk] for pk in by_intake)
    out["check"] = cross_check(rng.sample(typed, min(CHECK_SAMPLE, len(typed))))
    reset_links(url)
    out["batches"].append(batch(ids))
    out["left"] += unlinked()
    return out


def print_results(r: dict) -> None:
    n, naive_s, batch_s, bound_s, intake_ms = r["n"], r["naive_s"], min(r["batches"]), min(r["bounds"]), r["intake_ms"]
    intake_total = sum(intake_ms) / 1000
    p50, p95, p99 = (percentile(intake_ms, q) for q in (.5, .95, .99))
    print(f"outcomes: {outcomes()}")
    print(f"{'path':<34}{'reports':>9}{'time s':>10}{'reports/s':>12}")
    print(f"{'(a) naive ORM Distance, per report':<34}{NAIVE_SAMPLE:>9}{naive_s * NAIVE_SAMPLE:>10.2f}"
          f"{1 / naive_s:>12.1f}")
    print(f"{'(b) intake request_link':<34}{len(intake_ms):>9}{intake_total:>10.2f}"
          f"{len(intake_ms) / intake_total:>12.0f}   ms p50 {p50:.2f} p95 {p95:.2f} p99 {p99:.2f}")
    runs = ", ".join(f"{t:.2f} s" for t in r["batches"])
    print(f"{'(c) batch (best of 2)':<34}{n:>9}{batch_s:>10.2f}{n / batch_s:>12.0f}   runs {runs}")
    print(f"{'(d) STRtree bound (best of 2)':<34}{n:>9}{bound_s:>10.2f}{n / bound_s:>12.0f}"
          f"   runs {r['bounds'][0]:.2f} s, {r['bounds'][1]:.2f} s")
    speedup = naive_s * n / batch_s
    print(f"batch vs naive: {speedup:,.0f}x (target >= 100x) {verdict(speedup >= 100)}")
    print(f"batch / bound: {batch_s / bound_s:.2f}x (target <= 1.5x) {verdict(batch_s / bound_s <= 1.5)}")
    print(f"intake p95: {p95:.2f} ms (target <= 10 ms) {verdict(p95 <= 10)}")
    agree, ties, mismatches = r["check"]
    print(f"links not 'linked' after the batch: {r['left']}; intake and batch differ on {r['differ']} of "
          f"{len(intake_ms)}")
    print(f"cross-check vs full-scan SQL ({agree + ties + mismatches} reports): {agree} agree, {ties} ties "
          f"within 5 cm, {mismatches} mismatches")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--utilities", type=int, default=100_000, help="utility line segments")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true",
                        help="measure again on the bench database an earlier run left (sizes as they were)")
    args = parser.parse_args()
    started = time.perf_counter()
    base = stack_base_url()
    url = base.rsplit("/", 1)[0] + f"/{DB}"
    os.environ.update(bench_environment(url))  # before django.setup(): this process works on the bench DB only
    os.environ["DJANGO_SETTINGS_MODULE"] = "fieldsvc.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if args.reuse:
        manage("migrate", "--no-input")  # the reused database gets this checkout's schema
        reset_links(url)
    else:
        print("setting up the bench database…", flush=True)
        setup(base, url, args)
    print(f"{sizes(url)} (setup {time.perf_counter() - started:.0f} s)", flush=True)
    results = measure(random.Random(args.seed), url)
    print_results(results)
    print(f"total {time.perf_counter() - started:.0f} s")
    assert results["left"] == 0, f"{results['left']} links not linked"
    assert results["check"][2] == 0, f"{results['check'][2]} links differ from the full scan"


if __name__ == "__main__":
    main()
