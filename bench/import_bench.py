"""Import ~1M points with `manage.py import_layer` and with ogr2ogr into the same PostGIS; print the ratio.

Target (issue #2): fieldsvc's import takes at most 1.5x ogr2ogr's time. Both load the same
GeoPackage, transform to the storage CRS and end with a GiST-indexed table; both run as
command-line processes, alternately, and the best of each is compared (the machine is shared).

    scripts/stack.sh up && .venv/bin/python bench/import_bench.py [--features 1000000] [--rounds 2]
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pyogrio
import shapely
import yaml
from stack_url import main_database_url

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SOURCES = [  # real point fixtures, WGS84
    ("cambridge/INFRA_StreetLights.geojson", {}),
    ("cambridge/INFRA_Hydrants.geojson", {}),
    ("cambridge/street_trees.csv", {"X_POSSIBLE_NAMES": "Longitude", "Y_POSSIBLE_NAMES": "Latitude"}),
    ("boston/street_trees.csv", {"X_POSSIBLE_NAMES": "Longitude", "Y_POSSIBLE_NAMES": "Latitude"}),
]


def real_points() -> np.ndarray:
    parts = []
    for name, options in SOURCES:
        _, _, wkb, _ = pyogrio.raw.read(ROOT / "fixtures" / name, columns=[], **options)
        geoms = shapely.from_wkb(wkb)
        coords = shapely.get_coordinates(geoms[~shapely.is_missing(geoms)])
        parts.append(coords[(coords[:, 0] < -70) & (coords[:, 1] > 42)])  # drop the (0, 0) rows
    return np.concatenate(parts)


def make_gpkg(path: Path, features: int) -> None:
    """Replicate the real points with offsets of a few hundred metres until there are ``features``."""
    base = real_points()
    copies = -(-features // len(base))
    offsets = np.array([(0.003 * (k % 10), 0.002 * (k // 10)) for k in range(copies)])
    coords = (base[None, :, :] + offsets[:, None, :]).reshape(-1, 2)[:features]
    geoms = shapely.points(coords)
    ids = np.array([f"p{i}" for i in range(features)], dtype=object)
    kinds = np.array(["streetlight", "hydrant", "tree", "ramp"], dtype=object)[np.arange(features) % 4]
    lamps = (np.arange(features) % 3 + 1).astype("int32")
    pyogrio.raw.write(
        path, shapely.to_wkb(geoms), [ids, kinds, lamps], fields=["asset_id", "kind", "lamps"],
        geometry_type="Point", crs="EPSG:4326", driver="GPKG", layer="points",
    )


def psql(url: str, sql: str, db: str | None = None) -> None:
    u = urlparse(url)
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    subprocess.run(["psql", "-qX", "-h", u.hostname, "-p", str(u.port), "-U", u.username, "-d", db or u.path[1:],
                    "-c", sql], check=True, env=env, stdout=subprocess.DEVNULL)


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    main_url = main_database_url()
    from django.conf import settings

    bench_db = "fieldsvc_bench"
    psql(main_url, f"DROP DATABASE IF EXISTS {bench_db}")
    psql(main_url, f"CREATE DATABASE {bench_db}")
    bench_url = main_url.rsplit("/", 1)[0] + f"/{bench_db}"
    psql(bench_url, "CREATE EXTENSION postgis")
    env = {**os.environ, "DATABASE_URL": bench_url.replace("postgresql://", "postgis://", 1)}
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], check=True, env=env, cwd=ROOT)
    subprocess.run([py, "manage.py", "shell", "-c",
                    "from gis.models import *; d=Department.objects.create(code='b', name='B'); "
                    "AssetType.objects.create(code='bench-point', name='P', geometry_kind='point', department=d)"],
                   check=True, env=env, cwd=ROOT)

    OUT.mkdir(parents=True, exist_ok=True)
    gpkg = OUT / f"points_{args.features}.gpkg"
    if not gpkg.exists():
        print(f"writing {gpkg.name} ({args.features:,} points replicated from the fixtures)…", flush=True)
        make_gpkg(gpkg, args.features)
    mapping = OUT / "bench_mapping.yaml"
    mapping.write_text(yaml.safe_dump({
        "target": "asset", "source": {"layer": "points"}, "external_id": "asset_id",
        "fields": {"asset_type": {"value": "bench-point"}}, "attributes": ["kind", "lamps"],
    }))
    srid = settings.FIELDSVC_STORAGE_SRID
    u = urlparse(bench_url)
    pg = f"PG:host={u.hostname} port={u.port} user={u.username} password={u.password} dbname={bench_db}"
    ogr_cmd = ["ogr2ogr", "-f", "PostgreSQL", pg, str(gpkg), "points", "-nln", "bench_ogr", "-overwrite",
               "-t_srs", f"EPSG:{srid}", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST",
               "--config", "PG_USE_COPY", "YES"]
    ours_cmd = [py, "manage.py", "import_layer", str(gpkg), "--mapping", str(mapping)]
    ogr_times, our_times = [], []
    for r in range(args.rounds):
        psql(bench_url, "TRUNCATE registry_asset, registry_importrun; DROP TABLE IF EXISTS bench_ogr")
        ogr_times.append(timed(ogr_cmd, env))
        our_times.append(timed(ours_cmd, env))
        print(f"round {r + 1}: ogr2ogr {ogr_times[-1]:.1f} s, fieldsvc import {our_times[-1]:.1f} s", flush=True)
    reimport = timed(ours_cmd, env)
    ratio = min(our_times) / min(ogr_times)
    print(f"features: {args.features:,}")
    print(f"ogr2ogr best: {min(ogr_times):.1f} s   fieldsvc import best: {min(our_times):.1f} s")
    print(f"re-import of the unchanged file (all rows compared, none written): {reimport:.1f} s")
    print(f"ratio fieldsvc/ogr2ogr: {ratio:.2f}x (target <= 1.5x) -> {'PASS' if ratio <= 1.5 else 'FAIL'}")
    psql(main_url, f"DROP DATABASE IF EXISTS {bench_db}")


if __name__ == "__main__":
    main()
