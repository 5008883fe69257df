"""Bad rows are rejected with row number and reason while the rest load; re-imports upsert."""

import json

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.management import CommandError, call_command

from gis.importing.pipeline import import_file
from gis.models import Asset, District, ImportRun
from tests.geo import CAMBRIDGE_CITY_HALL_WGS84, NULL_ISLAND_WGS84

pytestmark = pytest.mark.django_db

LON, LAT = CAMBRIDGE_CITY_HALL_WGS84


def square(lon: float, lat: float, size: float = 0.001) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


DISTRICT_MAPPING = {"target": "district", "external_id": "id", "fields": {"name": "name"}}


@pytest.mark.parametrize("merging", [False, True], ids=["fresh-namespace", "merge"])
def test_each_bad_geometry_kind_is_rejected_with_row_and_reason(db, geojson_file, mapping_for, merging):
    if merging:  # a neighbourhood already there: the file is staged whole and merged, not streamed in
        polygon = GEOSGeometry(json.dumps(square(LON - 0.01, LAT)), srid=4326)
        District.objects.create(external_id="other", name="Other", kind="neighbourhood",
                                geom=MultiPolygon(polygon, srid=4326))
    bowtie = {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.001, LAT + 0.001],
                                                  [LON + 0.001, LAT], [LON, LAT + 0.001], [LON, LAT]]]}
    spike = {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.001, LAT], [LON, LAT]]]}
    path = geojson_file([
        ({"id": "good", "name": "Good"}, square(LON, LAT)),
        ({"id": "empty", "name": "Empty"}, {"type": "Polygon", "coordinates": []}),
        ({"id": "none", "name": "No geometry"}, None),
        ({"id": "far", "name": "Null island"}, square(*NULL_ISLAND_WGS84)),
        ({"id": "bowtie", "name": "Bow tie"}, bowtie),
        ({"id": "spike", "name": "Collapsed"}, spike),
        ({"id": "point", "name": "Wrong kind"}, {"type": "Point", "coordinates": [LON, LAT]}),
        ({"id": "good", "name": "Duplicate id"}, square(LON + 0.01, LAT)),
        ({"id": None, "name": "No id"}, square(LON + 0.02, LAT)),
    ])
    result = import_file(path=path, mapping=mapping_for(DISTRICT_MAPPING))
    reasons = {r.row: r.reason for r in result.rejects}
    assert reasons == {
        2: "empty geometry",
        3: "missing or unreadable geometry",
        4: "outside the valid area of the storage CRS (NAD83 / Massachusetts Mainland)",
        6: reasons[6],
        7: "geometry is a Point; this layer takes polygons",
        8: "external id 'good' already used by row 1",
        9: "missing external id",
    }
    assert reasons[6].startswith("invalid geometry that ST_MakeValid cannot mend (")
    # The bow tie was mended by ST_MakeValid into two triangles and loaded with the good one.
    kept = ["bowtie", "good", "other"] if merging else ["bowtie", "good"]
    assert sorted(District.objects.values_list("external_id", flat=True)) == kept
    assert District.objects.get(external_id="bowtie").geom.num_geom == 2


def test_nan_coordinates_are_rejected(registry, tmp_path, mapping_for):
    path = tmp_path / "ramps.csv"
    path.write_text(f'id,wkt\n1,"POINT ({LON} {LAT})"\n2,"POINT (nan {LAT})"\n')
    mapping = mapping_for({"target": "asset", "source": {"wkt": "wkt", "crs": "EPSG:4326"},
                           "external_id": "id", "fields": {"asset_type": {"value": "pedestrian-ramp"}}})
    result = import_file(path=path, mapping=mapping)
    assert result.created == 1
    assert [(r.row, r.reason) for r in result.rejects] == [(2, "geometry has NaN coordinates")]


def test_bad_field_values_reject_the_row_or_are_dropped_when_asked(registry, geojson_file, mapping_for):
    point = {"type": "Point", "coordinates": [LON, LAT]}
    path = geojson_file([
        ({"id": "a", "status": "ACT", "installed": 946684800000, "gpm": 1000}, point),
        ({"id": "b", "status": "???", "installed": 946684800000, "gpm": 1000}, point),
        ({"id": "c", "status": "ACT", "installed": -33000000000000, "gpm": 1000}, point),
        ({"id": "d", "status": "ACT", "installed": 946684800000, "gpm": 5000}, point),
    ])
    mapping = mapping_for({
        "target": "asset", "external_id": "id",
        "fields": {"asset_type": {"value": "hydrant"}, "status": {"from": "status", "map": {"ACT": "active"}},
                   "install_date": {"from": "installed", "parse": "epoch_ms", "on_error": "null"},
                   "condition": {"from": "gpm", "scale": 0.05}},
    })
    result = import_file(path=path, mapping=mapping)
    assert [(r.row, r.reason) for r in result.rejects] == [
        (2, "status: '???' is not in the mapping's value map"),
        (4, "condition: condition 250 is outside 0-100"),
    ]
    assert str(Asset.objects.get(external_id="a").install_date) == "2000-01-01"
    assert Asset.objects.get(external_id="c").install_date is None  # year 924: dropped, row kept


def test_reimport_is_idempotent_and_updates_only_what_changed(registry, geojson_file, mapping_for):
    point = {"type": "Point", "coordinates": [LON, LAT]}
    mapping = mapping_for({"target": "asset", "external_id": "id", "fields": {"asset_type": {"value": "streetlight"}}})
    rows = [({"id": str(i), "lamps": 1}, point) for i in range(5)]
    first = import_file(path=geojson_file(rows), mapping=mapping)
    again = import_file(path=geojson_file(rows), mapping=mapping)
    assert (first.created, first.updated, first.unchanged) == (5, 0, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    before = Asset.objects.get(external_id="3").updated_at
    rows[3] = ({"id": "3", "lamps": 2}, point)
    rows[4] = ({"id": "4", "lamps": 1}, {"type": "Point", "coordinates": [LON + 0.001, LAT]})
    rows.append(({"id": "5", "lamps": 1}, point))
    changed = import_file(path=geojson_file(rows), mapping=mapping)
    assert (changed.created, changed.updated, changed.unchanged) == (1, 2, 3)
    assert Asset.objects.count() == 6
    lamp = Asset.objects.get(external_id="3")
    assert lamp.attributes == {"lamps": 2} and lamp.updated_at > before


def test_unreadable_file_fails_clearly_and_changes_nothing(registry, tmp_path, mapping_file):
    Asset.objects.all().delete()
    bad = tmp_path / "broken.geojson"
    bad.write_bytes(b'{"type": "FeatureCollection", "features": [\x00\x01 not json')
    mapping = mapping_file({"target": "asset", "external_id": "id", "fields": {"asset_type": {"value": "hydrant"}}})
    with pytest.raises(CommandError, match=r"cannot read broken.geojson.*nothing was imported"):
        call_command("import_layer", str(bad), mapping=str(mapping))
    assert Asset.objects.count() == 0
    run = ImportRun.objects.get(source_name="broken.geojson")
    assert run.status == "failed" and "cannot read" in run.error


def test_mapping_naming_a_missing_field_fails_before_writing(registry, geojson_file, mapping_file):
    path = geojson_file([({"id": "1"}, {"type": "Point", "coordinates": [LON, LAT]})])
    mapping = mapping_file({"target": "asset", "external_id": "HYDRANT_ID",
                            "fields": {"asset_type": {"value": "hydrant"}}})
    with pytest.raises(CommandError, match="has no field 'HYDRANT_ID'"):
        call_command("import_layer", str(path), mapping=str(mapping))
    assert Asset.objects.count() == 0


def test_command_prints_summary_and_rejects(registry, geojson_file, mapping_file, capsys):
    path = geojson_file([
        ({"id": "1"}, {"type": "Point", "coordinates": [LON, LAT]}),
        ({"id": "2"}, {"type": "Point", "coordinates": list(NULL_ISLAND_WGS84)}),
    ])
    mapping = mapping_file({"target": "asset", "external_id": "id", "fields": {"asset_type": {"value": "hydrant"}}})
    call_command("import_layer", str(path), mapping=str(mapping))
    out = capsys.readouterr()
    assert "layer.geojson: 1 created, 0 updated, 0 unchanged, 1 rejected" in out.out
    assert "rejected row 2: outside the valid area" in out.out
    assert "features/s" in out.err  # the progress bar: counts and rate
    call_command("import_layer", str(path), mapping=str(mapping), skip_unchanged=True)
    assert "unchanged since import run" in capsys.readouterr().out
