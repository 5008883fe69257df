"""GDAL/OGR's WFS driver (Debian's ogrinfo/ogr2ogr) against a live server: layers, every feature type copied to a
GeoPackage and checked against the database, -where sent as an FES filter, -spat, paging, Basic auth."""

import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
from urllib.parse import parse_qsl

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.core.signals import request_started

from gis.models import Asset, AssetType, District, UtilityLine, UtilityStructure
from tests.wfs.support import PASSWORD
from workorders.models import ServiceRequest

pytestmark = pytest.mark.skipif(not shutil.which("ogr2ogr"), reason="GDAL's command line tools (gdal-bin) are needed")
ENV = {**os.environ, "NO_PROXY": "localhost,127.0.0.1", "no_proxy": "localhost,127.0.0.1", "CPL_DEBUG": "OFF"}


def ogr(*args: str, user: str | None = None, password: str = PASSWORD, check: bool = True):
    auth = ["--config", "GDAL_HTTP_AUTH", "BASIC", "--config", "GDAL_HTTP_USERPWD", f"{user}:{password}"]
    auth = auth if user else []
    done = subprocess.run([*args, *auth], capture_output=True, text=True, timeout=60, env=ENV)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def geojson(source: str, layer: str, *options: str, user: str | None = None) -> dict:
    """One layer through ogr2ogr to GeoJSON on stdout, parsed."""
    return json.loads(ogr("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", source, layer, *options, user=user).stdout)


def ids(collection: dict, prop: str = "external_id") -> list:
    return [f["properties"][prop] for f in collection["features"]]


@pytest.fixture
def wfs_log():
    """The query string of every request the live server receives at /wfs/, in order: what GDAL really sent."""
    seen: list[dict[str, str]] = []

    def record(sender, environ, **kwargs):
        if environ.get("PATH_INFO", "").startswith("/wfs/"):
            seen.append({key.upper(): value for key, value in parse_qsl(environ.get("QUERY_STRING", ""))})

    request_started.connect(record, weak=False)
    yield seen
    request_started.disconnect(record)


@pytest.fixture
def source(live_server) -> str:
    return f"WFS:{live_server.url}/wfs/"


def gpkg_geometry(blob: bytes) -> GEOSGeometry:
    """A GeoPackage geometry blob: 'GP', version, flags, srs id, an envelope sized by flags, then WKB."""
    assert blob[:2] == b"GP"
    flags = blob[3]
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(flags >> 1) & 0b111]
    srid = struct.unpack("<i" if flags & 1 else ">i", blob[4:8])[0]
    return GEOSGeometry(memoryview(blob[8 + envelope:]), srid=srid)


def test_ogrinfo_lists_the_public_layers(source, city):
    listing = ogr("ogrinfo", "-ro", "-so", source).stdout
    layers = re.findall(r"^\d+: (\S+)", listing, flags=re.MULTILINE)
    expected = [f"fieldsvc:asset_{code.replace('-', '_')}" for code in AssetType.objects.values_list("code", flat=True)]
    assert sorted(layers) == sorted(expected + ["fieldsvc:utility_line", "fieldsvc:utility_structure",
                                                "fieldsvc:neighbourhood", "fieldsvc:service_request"])
    assert "Streetlight" in listing and "work_order" not in listing


def test_ogr2ogr_copies_every_feature_type_to_a_geopackage_that_matches_the_database(source, city, superuser,
                                                                                       tmp_path):
    target = tmp_path / "city.gpkg"
    ogr("ogr2ogr", "-f", "GPKG", str(target), source, user="gis-root")
    with sqlite3.connect(target) as db:
        tables = {name for (name,) in db.execute("SELECT table_name FROM gpkg_contents")}
        counts = {table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
        lamps = db.execute('SELECT external_id, status, condition, geom FROM "fieldsvc:asset_streetlight" '
                           "ORDER BY external_id").fetchall()
        [line] = db.execute('SELECT external_id, material, diameter_mm, depth_m, geom FROM "fieldsvc:utility_line"')
        [request] = db.execute('SELECT * FROM "fieldsvc:service_request"')
    expected = {"fieldsvc:asset_streetlight": 5, "fieldsvc:asset_hydrant": 2, "fieldsvc:asset_road_segment": 1,
                "fieldsvc:utility_line": UtilityLine.objects.count(),
                "fieldsvc:utility_structure": UtilityStructure.objects.count(),
                "fieldsvc:neighbourhood": District.objects.count(), "fieldsvc:service_request": 1,
                "fieldsvc:work_order": 5}
    assert {table: counts.get(table) for table in expected} == expected
    assert all(counts[table] == 0 for table in tables - set(expected))  # asset types with no assets
    for (external_id, status, condition, blob), lamp in zip(lamps, Asset.objects.filter(
            asset_type__code="streetlight").order_by("external_id"), strict=True):
        assert (external_id, status, condition) == (lamp.external_id, lamp.status, lamp.condition)
        point = gpkg_geometry(blob)
        assert point.srid == 26986
        assert point.coords == pytest.approx(lamp.geom.coords, abs=0.01)
    assert line[:4] == ("WM-1", "ductile iron", 300, 1.8)
    copied = [n for xy in gpkg_geometry(line[4]).coords for n in xy]
    assert copied == pytest.approx([n for xy in city.line.geom.coords for n in xy], abs=0.01)
    assert ServiceRequest.objects.get().reference in request


def test_where_goes_to_the_server_as_an_fes_filter(source, city, wfs_log):
    found = geojson(source, "asset_streetlight", "-where", "status = 'active' AND condition > 51")
    assert ids(found) == ["L-2", "L-4"]
    filters = [q["FILTER"] for q in wfs_log if q.get("REQUEST") == "GetFeature" and "FILTER" in q]
    assert filters, "GDAL filtered on its side"
    assert "<PropertyIsEqualTo><ValueReference>status</ValueReference><Literal>active</Literal>" in filters[-1]
    assert "<PropertyIsGreaterThan><ValueReference>condition</ValueReference><Literal>51</Literal>" in filters[-1]


def test_spat_goes_to_the_server_as_a_bbox(source, city, wfs_log):
    x, y = city.lamps[0].geom.coords  # a box around L-0 and L-1 (20 m east), in the layer's CRS (metres)
    found = geojson(source, "asset_streetlight", "-spat", str(x - 5), str(y - 5), str(x + 25), str(y + 5))
    assert ids(found) == ["L-0", "L-1"]
    sx, sy = city.structure.geom.coords
    found = geojson(source, "utility_structure", "-spat", str(sx - 5), str(sy - 5), str(sx + 5), str(sy + 5))
    assert len(found["features"]) == 1
    boxes = [q["FILTER"] for q in wfs_log if q.get("REQUEST") == "GetFeature" and "<BBOX>" in q.get("FILTER", "")]
    assert {"asset_streetlight", "utility_structure"} <= {
        q["TYPENAMES"].rpartition(":")[2] for q in wfs_log if "<BBOX>" in q.get("FILTER", "")}, boxes


def test_paging_brings_every_feature_exactly_once(source, city, wfs_log):
    found = geojson(source, "asset_streetlight", "--config", "OGR_WFS_PAGING_ALLOWED", "ON",
                    "--config", "OGR_WFS_PAGE_SIZE", "2")
    assert ids(found) == ["L-0", "L-1", "L-2", "L-3", "L-4"]
    pages = {(q.get("STARTINDEX"), q.get("COUNT")) for q in wfs_log if q.get("REQUEST") == "GetFeature"}
    assert {("0", "2"), ("2", "2"), ("4", "2")} <= pages


def test_work_orders_need_basic_credentials_and_follow_departments(source, city, staff_a, superuser):
    assert ids(geojson(source, "work_order", user="gis-a"), "title") == ["Relamp A-0", "Relamp A-1"]
    everything = geojson(source, "work_order", user="gis-root")
    assert len(everything["features"]) == 5
    anonymous = ogr("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", source, "work_order", check=False)
    assert anonymous.returncode != 0 and "work_order" in anonymous.stderr
    refused = ogr("ogrinfo", "-ro", "-so", source, user="gis-a", password="wrong", check=False)
    assert refused.returncode != 0 and "401" in refused.stderr
