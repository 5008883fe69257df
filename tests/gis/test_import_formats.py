"""Import of each file format through GDAL/OGR, landing where PostGIS's own ST_Transform puts it."""

import shutil
import subprocess

import pyogrio
import pytest
import shapely
from django.contrib.gis.geos import Point
from django.db import connection

from gis.importing.pipeline import import_file
from gis.models import Asset, District, UtilityLine, UtilityStructure
from tests.conftest import FIXTURES
from tests.geo import BOSTON_ROAD_PARENT, CAMBRIDGE_CITY_HALL_26986, CAMBRIDGE_CITY_HALL_WGS84

pytestmark = pytest.mark.django_db


def _distance_to_st_transform_m(stored_geom, x: float, y: float, source_srid: int) -> float:
    """Metres between a stored point and PostGIS's ST_Transform of (x, y) from ``source_srid``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(ST_GeomFromEWKT(%s), ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), %s), "
            "ST_SRID(ST_GeomFromEWKT(%s))))",
            [stored_geom.ewkt, x, y, source_srid, stored_geom.ewkt],
        )
        return cursor.fetchone()[0]


def test_us_feet_state_plane_shapefile_lands_within_5_cm_of_st_transform(registry, mapping_for):
    path = FIXTURES / "boston" / "Roadway_Centerline.shp"
    mapping = mapping_for({
        "target": "asset", "external_id": {"from": "PARENT", "prefix": "boston-"},
        "fields": {"asset_type": {"value": "road-segment"}},
    })
    result = import_file(path=path, mapping=mapping)
    assert result.created == 5071 and result.total == 5077  # 6 PARENT ids repeat in the source
    # The .prj has no EPSG code; GDAL/PROJ must still read it as US survey feet (EPSG:2249).
    _, _, wkb, fields = pyogrio.raw.read(path, columns=["PARENT", "LENGTH"], max_features=1)
    assert fields[0][0] == BOSTON_ROAD_PARENT
    length_ft = fields[1][0]
    first = shapely.get_coordinates(shapely.from_wkb(wkb[0]))[0]
    road = Asset.objects.get(external_id=f"boston-{BOSTON_ROAD_PARENT}")
    start = road.geom[0] if road.geom.geom_type == "LineString" else road.geom[0][0]
    distance_m = _distance_to_st_transform_m(Point(*start[:2], srid=road.geom.srid), first[0], first[1], 2249)
    assert distance_m <= 0.05
    # And feet really became metres: LENGTH in the attribute table is in feet.
    assert road.geom.length == pytest.approx(length_ft * 0.3048006, rel=0.05)


def test_geojson_points_land_within_5_cm_of_st_transform(registry, mapping_for):
    mapping = mapping_for({
        "target": "asset", "external_id": "HYDRANT_ID", "fields": {"asset_type": {"value": "hydrant"}},
    })
    path = FIXTURES / "cambridge" / "INFRA_Hydrants.geojson"
    result = import_file(path=path, mapping=mapping)
    # In the source 36 hydrants have no HYDRANT_ID and 6 repeat an earlier one: 42 rejected.
    assert (result.created, result.rejected) == (1918, 42)
    _, _, wkb, fields = pyogrio.raw.read(path, columns=["HYDRANT_ID"], max_features=1)
    lon, lat = shapely.get_coordinates(shapely.from_wkb(wkb[0]))[0]
    hydrant = Asset.objects.get(external_id=fields[0][0])
    assert _distance_to_st_transform_m(hydrant.geom, lon, lat, 4326) <= 0.05
    assert hydrant.attributes["HYDRANT_GPM"] == 1475


def test_geopackage_polygons_import(registry, mapping_for, tmp_path):
    if shutil.which("ogr2ogr") is None:
        pytest.fail("ogr2ogr (Debian gdal-bin) is part of the stack and must be installed")
    gpkg = tmp_path / "neighbourhoods.gpkg"
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(gpkg), str(FIXTURES / "boston" / "neighborhoods.geojson"),
         "-nln", "hoods", "-t_srs", "EPSG:3857"],
        check=True,
    )
    mapping = mapping_for({
        "target": "district", "source": {"layer": "hoods"}, "external_id": "neighborhood_id",
        "fields": {"name": "name", "population": "population", "city": {"value": "Boston"}},
    })
    result = import_file(path=gpkg, mapping=mapping)
    assert (result.created, result.rejected) == (26, 0)
    dorchester = District.objects.get(name="Dorchester")
    assert dorchester.population == 123056
    assert dorchester.geom.geom_type == "MultiPolygon" and dorchester.geom.srid == 26986
    assert 15e6 < dorchester.geom.area < 20e6  # ~6 sq mi in square metres


def test_csv_lon_lat_columns(registry, mapping_for, tmp_path):
    lon, lat = CAMBRIDGE_CITY_HALL_WGS84
    path = tmp_path / "trees.csv"
    path.write_text(f"TreeId,Longitude,Latitude,CommonName\n7,{lon},{lat},Red Oak\n8,-71.1,42.37,Elm\n")
    mapping = mapping_for({
        "target": "asset", "source": {"x": "Longitude", "y": "Latitude"}, "external_id": "TreeId",
        "fields": {"asset_type": {"value": "street-tree"}},
    })
    result = import_file(path=path, mapping=mapping)
    assert result.created == 2
    tree = Asset.objects.get(external_id="7")
    assert tree.geom.x == pytest.approx(CAMBRIDGE_CITY_HALL_26986[0], abs=0.05)
    assert tree.geom.y == pytest.approx(CAMBRIDGE_CITY_HALL_26986[1], abs=0.05)
    assert tree.attributes == {"CommonName": "Red Oak"}


def test_csv_wkt_column_in_web_mercator(registry, mapping_for):
    mapping = mapping_for({
        "target": "asset", "source": {"wkt": "geometry", "crs": "EPSG:3857"},
        "external_id": "FID", "fields": {"asset_type": {"value": "pedestrian-ramp"}, "condition": "score_1"},
        "attributes": ["Sidewalk_ID"],
    })
    result = import_file(path=FIXTURES / "boston" / "pedestrian_ramps.csv", mapping=mapping)
    assert (result.created, result.rejected) == (26159, 0)
    ramp = Asset.objects.get(external_id="1176")  # first row: POINT (-7911843.0538 5213855.4308), 82.4
    assert ramp.condition == 82
    assert _distance_to_st_transform_m(ramp.geom, -7911843.053800001, 5213855.430799992, 3857) <= 0.05


def test_utility_lines_and_structures_keep_their_measures(registry, mapping_for):
    lines = import_file(
        path=FIXTURES / "somerville" / "city_storm_mains.geojson",
        mapping=mapping_for({
            "target": "utility_line", "external_id": "OBJECTID",
            "fields": {"kind": {"value": "storm"}, "material": {"from": "Material", "null_if": ["Unknown"]},
                       "diameter_mm": {"from": "Diameter", "scale": 25.4, "null_if": [0]},
                       "department": {"value": "water-sewer"}},
        }),
    )
    assert lines.created == 1983
    main = UtilityLine.objects.get(external_id="2")  # OBJECTID 2: ABS Plastic, 54 in
    assert (main.material, main.diameter_mm, main.department.code) == ("ABS Plastic", 1372, "water-sewer")
    assert UtilityLine.objects.get(external_id="1").material == ""  # 'Unknown' in the source
    manholes = import_file(
        path=FIXTURES / "somerville" / "city_manholes.geojson",
        mapping=mapping_for({
            "target": "utility_structure", "external_id": "OBJECTID",
            "fields": {"kind": {"value": "storm"}, "structure_type": {"value": "manhole"}},
        }),
    )
    assert manholes.created == UtilityStructure.objects.filter(structure_type="manhole").count() == 1521
