"""GeoJSON written from rows (gis/wfs/output.py) is byte for byte what django-gisserver's renderer writes."""

import re
from datetime import UTC, date, datetime
from urllib.parse import urlencode

import pytest
from django.contrib.gis.geos import LineString, Point
from django.test import override_settings
from gisserver.features import field

from gis.models import Asset, AssetType, Department, UtilityLine
from gis.wfs import types
from gis.wfs.output import RowGeoJsonRenderer
from tests.geo import CAMBRIDGE_CITY_HALL_26986

pytestmark = pytest.mark.django_db

X, Y = CAMBRIDGE_CITY_HALL_26986
# Timestamps the two renderers print by different means (orjson from a datetime; to_char in PostgreSQL):
# whole seconds (no fraction), microseconds with leading zeros, the last microsecond of a second, a date
# across the US spring-forward hour (the project's TIME_ZONE is America/New_York; output is UTC).
TIMES = [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 30, 23, 59, 59, 100, tzinfo=UTC),
         datetime(2024, 3, 10, 6, 59, 59, 999999, tzinfo=UTC), datetime(1999, 12, 31, 23, 0, 0, 5, tzinfo=UTC)]
# Text that JSON must escape, and text that it must not.
NAMES = ["L-1", 'L-"2" \\ back', "L-3 é 漢 🚦", "L-4\n\t\x01\x1f end"]


def lines_by_department(request):
    return [
        types.feature_type(UtilityLine.objects.order_by("id"), name="line_by_department", title="Lines",
                           fields=["id", "external_id", field("department_code", model_attribute="department.code"),
                                   field("department_name", model_attribute="department.name"), "depth_m",
                                   "diameter_mm", "updated_at", "geom"]),
        # The key itself (printed as the department's id): left to the stock code.
        types.feature_type(UtilityLine.objects.order_by("id"), name="line_with_department", title="Lines",
                           fields=["id", "department", "geom"]),
    ]


@pytest.fixture
def layers(registry):
    lamps = AssetType.objects.get(code="streetlight")
    for i, (name, at) in enumerate(zip(NAMES, TIMES, strict=True)):
        asset = Asset.objects.create(
            asset_type=lamps, external_id=name, geom=Point(X + 20 * i, Y + 0.123456789 * i, srid=26986),
            status=["active", "inactive", "proposed", "active"][i], condition=[None, 0, 100, 57][i],
            install_date=[None, date(1999, 12, 31), date(2024, 2, 29), date(1900, 1, 1)][i],
        )
        Asset.objects.filter(pk=asset.pk).update(created_at=at, updated_at=TIMES[-1 - i])  # no auto_now here
    water = Department.objects.get(code="water-sewer")
    for i, department in enumerate([water, None, water]):
        line = UtilityLine.objects.create(
            kind="water", external_id=f"W-{i}", department=department, depth_m=[1.25, None, 0.1][i],
            diameter_mm=[200, None, 0][i], geom=LineString((X, Y), (X + 10.5, Y + i / 3), srid=26986),
        )
        UtilityLine.objects.filter(pk=line.pk).update(updated_at=TIMES[i])
    types.register(lines_by_department)
    yield
    types._providers.remove(lines_by_department)


def geojson(client, params: dict) -> bytes:
    query = {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "OUTPUTFORMAT": "geojson", **params}
    response = client.get("/wfs/?" + urlencode(query))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/geo+json; charset=utf-8"
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return re.sub(rb'"timeStamp":"[^"]*"', b'"timeStamp":""', data)


def stock(client, params: dict) -> bytes:
    with override_settings(GISSERVER_GET_FEATURE_OUTPUT_FORMATS={}):  # django-gisserver's own formats
        return geojson(client, params)


def never(*args, **kwargs):
    raise AssertionError("the stock per-instance rendering ran")


LAMPS = {"TYPENAMES": "fieldsvc:asset_streetlight"}
LINES = {"TYPENAMES": "fieldsvc:line_by_department"}


@pytest.mark.parametrize("params", [
    LAMPS,
    {**LAMPS, "COUNT": 2},  # first page: numberMatched by a COUNT, a next link
    {**LAMPS, "COUNT": 1, "STARTINDEX": 1},  # later page: the sentinel row, both links
    {**LAMPS, "SRSNAME": "EPSG:4326"},
    {**LAMPS, "SRSNAME": "urn:ogc:def:crs:EPSG::4326"},
    {**LAMPS, "SRSNAME": "EPSG:3857"},
    {**LAMPS, "PROPERTYNAME": "external_id,created_at"},
    {**LAMPS, "SORTBY": "created_at DESC"},
    {**LAMPS, "BBOX": f"{X - 1},{Y - 1},{X + 41},{Y + 1},urn:ogc:def:crs:EPSG::26986"},
    LINES,  # through a nullable foreign key: NULL where there is no department
    {**LINES, "SORTBY": "department_code DESC"},
    {**LINES, "PROPERTYNAME": "department_name"},
    {**LINES, "FILTER": '<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:PropertyIsEqualTo>'
                        "<fes:ValueReference>department_code</fes:ValueReference><fes:Literal>water-sewer"
                        "</fes:Literal></fes:PropertyIsEqualTo></fes:Filter>"},
])
def test_geojson_from_rows_is_the_bytes_django_gisserver_writes(client, layers, monkeypatch, params):
    expected = stock(client, params)
    monkeypatch.setattr(RowGeoJsonRenderer, "render_feature", never)
    assert geojson(client, params) == expected
    assert b'"features": [\n    {"type":"Feature"' in expected


def test_a_property_the_rows_cannot_give_goes_through_the_stock_rendering(client, layers, monkeypatch):
    params = {"TYPENAMES": "fieldsvc:line_with_department"}
    expected = stock(client, params)
    calls = []
    monkeypatch.setattr(RowGeoJsonRenderer, "render_feature",
                        lambda self, *args: calls.append(1) or super(RowGeoJsonRenderer, self).render_feature(*args))
    assert geojson(client, params) == expected
    assert len(calls) == 3
    line, water = UtilityLine.objects.get(external_id="W-0"), Department.objects.get(code="water-sewer")
    assert f'"properties":{{"id":{line.pk},"department":{water.pk}}}'.encode() in expected


def test_a_foreign_key_path_is_one_query_not_a_prefetch_per_relation(client, layers, django_assert_num_queries):
    with django_assert_num_queries(3):  # asset types (the feature type list), the rows, numberMatched's COUNT
        geojson(client, {**LINES, "COUNT": 2})
