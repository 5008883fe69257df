"""WFS GetFeature of 100k features as GeoJSON against ogr2ogr exporting the same rows from PostGIS.

Issue #6 targets: our GetFeature (gunicorn, streamed) at least 0.8x ogr2ogr's speed, i.e. our time
at most 1.25x the time of `ogr2ogr -f GeoJSON /vsistdout/ PG:... -sql ...`, run alternately in the
same run, median of --rounds; and memory flat: the gunicorn worker's peak RSS while streaming 100k
features no higher than while streaming 10k (within --rss-slack-mb). Same rows (one asset type,
ordered by id), same properties, same CRS (the storage CRS, EPSG:26986: no srsName, so neither
side transforms), both written in full to a sink (the HTTP body read to its end and dropped;
ogr2ogr to /dev/null). A layer of points and one of lines; everything on this machine, in a
database of its own (fieldsvc_bench_wfs).

    scripts/stack.sh up && .venv/bin/python bench/wfs_bench.py [--features 100000] [--rounds 5]
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PORT = 18312
DB = "fieldsvc_bench_wfs"
LAYERS = {"bench-point": "point", "bench-line": "line"}  # asset type code -> geometry kind
# The properties gis/wfs/types.py ASSET_FIELDS publishes (geom aside), in its order.
COLUMNS = ["id", "external_id", "status", "condition", "install_date", "created_at", "updated_at"]
DATES = {"install_date", "created_at", "updated_at"}


def stack_url() -> str:
    """The stack database's URL, asked of a child process: this process only talks SQL and HTTP."""
    code = "from stack_url import main_database_url; print(main_database_url())"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT / "bench", check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


def manage(env: dict, *args: str) -> None:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def setup_database(base_url: str, url: str, env: dict, features: int) -> None:
    """features assets of each bench type over Boston: points, and lines of 8 vertices (~35 m, like a main)."""
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    manage(env, "migrate", "-v0")
    manage(env, "shell", "-c",
           "from gis.models import AssetType, Department; d = Department.objects.create(code='bench', name='Bench')\n"
           + "".join(f"AssetType.objects.create(code='{code}', name='{code}', geometry_kind='{kind}', department=d)\n"
                     for code, kind in LAYERS.items()))
    # Full-precision coordinates (as transformed lon/lat are), attributes of every type, some nulls.
    attributes = """
        (ARRAY['active', 'active', 'active', 'inactive', 'proposed', 'abandoned'])[1 + g % 6],
        CASE WHEN g % 7 = 0 THEN NULL ELSE g % 101 END,
        CASE WHEN g % 5 = 0 THEN NULL ELSE date '1990-01-01' + g % 12000 END,
        timestamptz '2025-01-01 00:00:00+00' + g * interval '97 s', now() - g * interval '13 s'"""
    origin = "225000 + random() * 20000 AS x, 890000 + random() * 16000 AS y"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"""
            INSERT INTO registry_asset (asset_type_id, external_id, status, condition, install_date, created_at,
                                        updated_at, geom, attributes)
            SELECT k.id, 'P-' || g, {attributes}, ST_SetSRID(ST_MakePoint(o.x, o.y), 26986), '{{}}'
              FROM generate_series(1, {features}) AS g
              CROSS JOIN LATERAL (SELECT {origin} WHERE g > 0) AS o
              JOIN registry_assettype k ON k.code = 'bench-point'""")
        conn.execute(f"""
            INSERT INTO registry_asset (asset_type_id, external_id, status, condition, install_date, created_at,
                                        updated_at, geom, attributes)
            SELECT k.id, 'L-' || g, {attributes},
                   ST_SetSRID(ST_MakeLine(ARRAY(SELECT ST_MakePoint(o.x + i * 5 + random(), o.y + i * random())
                                                  FROM generate_series(0, 7) AS i)), 26986), '{{}}'
              FROM generate_series(1, {features}) AS g
              CROSS JOIN LATERAL (SELECT {origin} WHERE g > 0) AS o
              JOIN registry_assettype k ON k.code = 'bench-line'""")
        conn.execute("VACUUM ANALYZE registry_asset")


def start_server(env: dict) -> tuple[subprocess.Popen, int]:
    """gunicorn as production runs it, with one sync worker so the RSS measured is the one serving."""
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "fieldsvc.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", "1", "--timeout", "300", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    for _ in range(150):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            connection.request("GET", "/wfs/?SERVICE=WFS&REQUEST=GetCapabilities")
            connection.getresponse().read()
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            return server, int(children[0])
        except (OSError, IndexError):
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class PeakRss:
    """The worker's peak RSS over a block: VmHWM reset first (clear_refs 5), and sampled as a cross-check."""

    def __init__(self, pid: int):
        self.pid, self.sampled_kb, self._stop = pid, 0, threading.Event()

    def __enter__(self) -> "PeakRss":
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.before_kb = proc_kb(self.pid, "VmRSS")
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.sampled_kb = max(self.sampled_kb, proc_kb(self.pid, "VmRSS"))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(proc_kb(self.pid, "VmHWM"), self.sampled_kb)


def get_feature(type_name: str, count: int | None = None, keep: bool = False) -> tuple[float, int, bytes | None]:
    """GetFeature as GeoJSON, the body read to its end; (seconds, bytes, body if keep)."""
    params = {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": f"fieldsvc:{type_name}",
              "OUTPUTFORMAT": "geojson", **({"COUNT": count} if count else {})}
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=300)
    connection.request("GET", "/wfs/?" + urlencode(params))
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"GetFeature {type_name}: HTTP {response.status}: {response.read()[:500]!r}")
    size, parts = 0, []
    while chunk := response.read(1 << 16):
        size += len(chunk)
        if keep:
            parts.append(chunk)
    connection.close()
    return time.perf_counter() - start, size, b"".join(parts) if keep else None


def ogr_command(url: str, type_id: int, to: str = "/vsistdout/") -> list[str]:
    u = urlparse(url)
    pg = f"PG:host={u.hostname} port={u.port} user={u.username} password={u.password} dbname={u.path[1:]}"
    sql = f"SELECT {', '.join(COLUMNS)}, geom FROM registry_asset WHERE asset_type_id = {type_id} ORDER BY id"
    return ["ogr2ogr", "-f", "GeoJSON", to, pg, "-sql", sql, "-nln", "export"]


def ogr_export(cmd: list[str]) -> tuple[float, float]:
    """ogr2ogr writing to /dev/null: (seconds, its peak RSS in MB). The peak is read from /proc while it runs:
    getrusage() would count the bench's own pages, which a spawned child holds until it execs."""
    with open(os.devnull, "wb") as sink:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE)
        peak_kb = 0
        while child.poll() is None:
            try:
                peak_kb = proc_kb(child.pid, "VmHWM")  # monotonic: the last read is the highest
            except (OSError, KeyError):
                pass
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(f"ogr2ogr failed: {child.stderr.read().decode()}")
    return elapsed, peak_kb / 1024


def same_rows(ours: bytes, theirs: bytes, type_name: str) -> str:
    """Both exports hold the same features, ids and property values (dates to the second), coordinates."""
    a, b = orjson.loads(ours)["features"], orjson.loads(theirs)["features"]
    if len(a) != len(b):
        return f"{len(a)} features against ogr2ogr's {len(b)}"
    for fa, fb in zip(a, b, strict=True):
        if fa["id"] != f"{type_name}.{fb['properties']['id']}":
            return f"feature {fa['id']} against {fb['properties']['id']}"
        for key in COLUMNS:
            va, vb = fa["properties"][key], fb["properties"][key]
            if key in DATES and va and vb:  # ogr2ogr writes 2025/01/01 00:01:37+00 (and milliseconds at most)
                va, vb = "".join(filter(str.isdigit, va))[:14], "".join(filter(str.isdigit, vb))[:14]
            if va != vb:
                return f"{fa['id']}: {key} {va!r} against {vb!r}"
        ca, cb = fa["geometry"]["coordinates"], fb["geometry"]["coordinates"]
        if abs(sum(map(float, _flat(ca))) - sum(map(float, _flat(cb)))) > 1e-6:
            return f"{fa['id']}: coordinates differ"
    return ""


def _flat(coords):
    for c in coords:
        if isinstance(c, list):
            yield from _flat(c)
        else:
            yield c


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", type=int, default=10_000, help="features of the memory comparison's small page")
    parser.add_argument("--rss-slack-mb", type=float, default=4.0)
    parser.add_argument("--reuse", action="store_true", help="keep the bench database of a previous run")
    args = parser.parse_args()
    base = stack_url()
    url = base.rsplit("/", 1)[0] + f"/{DB}"
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgis://", 1), "DJANGO_LOG_LEVEL": "WARNING"}
    if not args.reuse:
        print(f"setting up the bench database ({args.features:,} points and {args.features:,} lines)…", flush=True)
        setup_database(base, url, env, args.features)
    with psycopg.connect(url) as conn:
        type_ids = dict(conn.execute("SELECT code, id FROM registry_assettype WHERE code LIKE 'bench-%%'").fetchall())
    OUT.mkdir(parents=True, exist_ok=True)
    server, worker = start_server(env)
    failed, results = False, {}
    try:
        for code, kind in LAYERS.items():
            type_name = "asset_" + code.replace("-", "_")
            cmd = ogr_command(url, type_ids[code])
            # Warm both (caches, the worker's first big response) and check that they export the same thing.
            _, our_bytes, ours = get_feature(type_name, keep=True)
            theirs_path = OUT / f"wfs_bench_{code}.geojson"
            subprocess.run(ogr_command(url, type_ids[code], str(theirs_path)), check=True, capture_output=True)
            theirs = theirs_path.read_bytes()
            theirs_path.unlink()
            mismatch = same_rows(ours, theirs, type_name)
            ogr_bytes = len(theirs)
            del ours, theirs
            our_times, ogr_times, ogr_rss = [], [], []
            for r in range(args.rounds):  # alternately, each side first every other round
                for side in (("ogr", "ours") if r % 2 == 0 else ("ours", "ogr")):
                    if side == "ogr":
                        elapsed, rss = ogr_export(cmd)
                        ogr_times.append(elapsed)
                        ogr_rss.append(rss)
                    else:
                        our_times.append(get_feature(type_name)[0])
            ours_s, ogr_s = statistics.median(our_times), statistics.median(ogr_times)
            ratio = ours_s / ogr_s
            print(f"{kind}s, {args.features:,} features, EPSG:26986: GetFeature GeoJSON median {ours_s:.2f} s "
                  f"({our_bytes / 1e6:.1f} MB, {args.features / ours_s:,.0f} features/s); ogr2ogr median "
                  f"{ogr_s:.2f} s ({ogr_bytes / 1e6:.1f} MB, {args.features / ogr_s:,.0f} features/s, "
                  f"peak RSS {max(ogr_rss):.0f} MB)")
            print(f"  rounds: ours {[round(t, 2) for t in our_times]}, ogr2ogr {[round(t, 2) for t in ogr_times]}")
            passed = ratio <= 1.25 and not mismatch
            failed |= not passed
            print(f"  time ours/ogr2ogr {ratio:.2f}x, i.e. {1 / ratio:.2f}x its speed (target >= 0.8x: <= 1.25x its "
                  f"time); same rows, ids and properties: {mismatch or 'yes'} -> {'PASS' if passed else 'FAIL'}")
            # Memory: the worker's peak RSS while streaming a small page and the whole layer, alternately.
            peaks: dict[int, list[float]] = {args.small: [], args.features: []}
            idle = []
            for _ in range(2):
                for count in (args.small, None):
                    with PeakRss(worker) as rss:
                        get_feature(type_name, count=count)
                    peaks[count or args.features].append(rss.peak_kb / 1024)
                    idle.append(rss.before_kb / 1024)
            small, large = max(peaks[args.small]), max(peaks[args.features])
            flat = large - small <= args.rss_slack_mb
            failed |= not flat
            print(f"  gunicorn worker peak RSS: {small:.1f} MB streaming {args.small:,} features, {large:.1f} MB "
                  f"streaming {args.features:,} ({our_bytes / 1e6:.1f} MB sent); before each {min(idle):.1f}-"
                  f"{max(idle):.1f} MB; growth {large - small:+.1f} MB (target flat: <= {args.rss_slack_mb:.0f} MB) "
                  f"-> {'PASS' if flat else 'FAIL'}", flush=True)
            results[kind] = {"features": args.features, "ours_s": our_times, "ogr2ogr_s": ogr_times,
                             "ratio": ratio, "our_bytes": our_bytes, "ogr2ogr_bytes": ogr_bytes,
                             "ogr2ogr_peak_rss_mb": max(ogr_rss), "same_rows": not mismatch,
                             "worker_peak_rss_mb": {str(args.small): peaks[args.small],
                                                    str(args.features): peaks[args.features]}}
    finally:
        server.terminate()
        server.wait(timeout=30)
    (OUT / "wfs_bench.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"figures in {(OUT / 'wfs_bench.json').relative_to(ROOT)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
