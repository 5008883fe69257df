"""The WFS operations through the test client: sorting, hits, paging links, the three output formats, GetPropertyValue,
the GetFeatureById stored query, FES distance filters in metres, axis order per srsName, streaming, and 4xx
exception reports (never a 500) for bad requests."""

import csv
import io
import json
from urllib.parse import urlsplit

import pytest
from django.contrib.gis.geos import Point

from gis import crs
from gis.models import Asset, AssetType
from tests.geo import CAMBRIDGE_CITY_HALL_26986
from tests.wfs.support import (
    CSV,
    GEOJSON,
    GML,
    LAMPS,
    LAT,
    LON,
    STORAGE_CRS,
    body,
    exception,
    members,
    positions,
    values,
    web_mercator,
    xml,
)

pytestmark = pytest.mark.django_db
FES = 'xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:gml="http://www.opengis.net/gml/3.2"'


def test_sortby_external_id_descending(wfs, city):
    answer, data = wfs(REQUEST="GetFeature", TYPENAMES="asset_streetlight", SORTBY="external_id DESC")
    assert answer.status_code == 200
    assert values(xml(data), "external_id") == LAMPS[::-1]


def test_hits_give_the_number_matched_and_no_features(wfs, city):
    _, data = wfs(REQUEST="GetFeature", TYPENAMES="asset_streetlight", RESULTTYPE="hits",
                  FILTER=f'<fes:Filter {FES}><fes:PropertyIsEqualTo><fes:ValueReference>status</fes:ValueReference>'
                         '<fes:Literal>active</fes:Literal></fes:PropertyIsEqualTo></fes:Filter>')
    root = xml(data)
    assert (root.get("numberMatched"), root.get("numberReturned"), members(root)) == ("3", "0", [])


@pytest.mark.parametrize("fmt", [GML, GEOJSON])
def test_count_and_startindex_pages_link_to_each_other_and_cover_every_feature_once(client, city, fmt):
    url = f"/wfs/?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=asset_streetlight&COUNT=2&OUTPUTFORMAT={fmt}"
    seen, pages = [], 0
    while url:
        answer = client.get(url)
        assert answer.status_code == 200
        pages += 1
        if fmt == GML:
            root = xml(body(answer))
            seen += values(root, "external_id")
            if pages == 1:
                assert (root.get("numberMatched"), root.get("numberReturned")) == ("5", "2")
                assert "previous" not in root.attrib
            url = root.get("next")
        else:
            page = json.loads(body(answer))
            seen += [f["properties"]["external_id"] for f in page["features"]]
            links = {link["rel"]: link["href"] for link in page.get("links", [])}
            assert ("prev" in links or "previous" in links) == (pages > 1)
            url = links.get("next")
        if url:
            assert urlsplit(url).path == "/wfs/" and "STARTINDEX=" in url
    assert pages == 3 and seen == LAMPS  # ordered by id, each exactly once


@pytest.mark.parametrize("fmt", [GML, GEOJSON, CSV])
def test_each_output_format_parses_with_the_right_count(wfs, city, fmt):
    answer, data = wfs(REQUEST="GetFeature", TYPENAMES="asset_streetlight", OUTPUTFORMAT=fmt)
    assert answer.status_code == 200
    if fmt == GML:
        assert answer["Content-Type"].startswith("text/xml")
        ids = values(xml(data), "external_id")
    elif fmt == GEOJSON:
        assert answer["Content-Type"].startswith("application/geo+json")
        collection = json.loads(data)
        assert collection["numberReturned"] == 5 and collection["type"] == "FeatureCollection"
        ids = [f["properties"]["external_id"] for f in collection["features"]]
    else:
        assert answer["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        ids = [row["external_id"] for row in rows]
        assert rows[0]["geom"].startswith("SRID=26986;POINT(")
    assert ids == LAMPS


def test_get_property_value_returns_just_the_values(wfs, city):
    answer, data = wfs(REQUEST="GetPropertyValue", TYPENAMES="asset_streetlight", VALUEREFERENCE="external_id",
                       SORTBY="external_id DESC")
    assert answer.status_code == 200
    root = xml(data)
    assert [v.text for v in members(root)] == LAMPS[::-1]
    assert {v.tag for v in members(root)} == {"{http://fieldsvc.org/wfs}external_id"}


def test_get_feature_by_id_stored_query(wfs, city):
    lamp = city.lamps[3]
    answer, data = wfs(REQUEST="GetFeature", STOREDQUERY_ID="urn:ogc:def:query:OGC-WFS::GetFeatureById",
                       ID=f"asset_streetlight.{lamp.pk}")
    assert answer.status_code == 200
    root = xml(data)  # GetFeatureById answers the bare feature, no collection around it
    assert root.tag == "{http://fieldsvc.org/wfs}asset_streetlight" and root.findtext(
        "{http://fieldsvc.org/wfs}external_id") == "L-3"
    answer, data = wfs(REQUEST="GetFeature", STOREDQUERY_ID="urn:ogc:def:query:OGC-WFS::GetFeatureById",
                       ID="asset_streetlight.999999999")
    assert answer.status_code == 404 and exception(data)[0] == "NotFound"


def dwithin(x: float, y: float, srs: str, metres: float) -> str:
    return (f'<fes:Filter {FES}><fes:DWithin><fes:ValueReference>geom</fes:ValueReference>'
            f'<gml:Point gml:id="here" srsName="{srs}"><gml:pos>{x} {y}</gml:pos></gml:Point>'
            f'<fes:Distance uom="m">{metres}</fes:Distance></fes:DWithin></fes:Filter>')


def test_dwithin_counts_metres_on_the_storage_crs(wfs, city):
    """Lamps stand 20 m apart going east from L-0: 30 m around L-0 holds L-0 and L-1; 50 m adds L-2."""
    x, y = city.lamps[0].geom.coords
    for flt, expected in [(dwithin(x, y, STORAGE_CRS, 30), LAMPS[:2]), (dwithin(x, y, STORAGE_CRS, 50), LAMPS[:3]),
                          # the same place in lat/lon (authority axis order): still metres
                          (dwithin(LAT, LON, "urn:ogc:def:crs:EPSG::4326", 30), LAMPS[:2])]:
        answer, data = wfs(REQUEST="GetFeature", TYPENAMES="asset_streetlight", FILTER=flt)
        assert answer.status_code == 200, data
        assert values(xml(data), "external_id") == expected


def test_bbox_follows_the_axis_order_of_its_crs(wfs, city):
    """The same box around L-0 and L-1 in metres, in lat/lon (urn form) and in lon/lat (CRS84)."""
    x, y = city.lamps[0].geom.coords
    lat_per_m, lon_per_m = 1 / 111_000, 1 / 82_000  # at 42.37° N, roughly; the box is 10 m wider than needed
    boxes = [
        f"{x - 10},{y - 10},{x + 30},{y + 10},{STORAGE_CRS}",
        f"{LAT - 10 * lat_per_m},{LON - 10 * lon_per_m},{LAT + 10 * lat_per_m},{LON + 30 * lon_per_m},"
        "urn:ogc:def:crs:EPSG::4326",
        f"{LON - 10 * lon_per_m},{LAT - 10 * lat_per_m},{LON + 30 * lon_per_m},{LAT + 10 * lat_per_m},"
        "urn:ogc:def:crs:OGC::CRS84",
    ]
    for bbox in boxes:
        _, data = wfs(REQUEST="GetFeature", TYPENAMES="asset_streetlight", BBOX=bbox)
        assert values(xml(data), "external_id") == LAMPS[:2], bbox


@pytest.mark.parametrize(("srs", "expected", "tolerance"), [
    (None, CAMBRIDGE_CITY_HALL_26986, 0.01),  # the storage CRS, metres
    ("urn:ogc:def:crs:EPSG::4326", (LAT, LON), 1e-6),  # authority order: latitude first
    ("http://www.opengis.net/def/crs/epsg/0/4326", (LAT, LON), 1e-6),
    ("EPSG:4326", (LON, LAT), 1e-6),  # the legacy name: longitude first, as GeoServer does
    ("urn:ogc:def:crs:OGC::CRS84", (LON, LAT), 1e-6),
    ("EPSG:3857", web_mercator(LON, LAT), 0.01),
])
def test_gml_coordinates_follow_the_axis_order_of_the_srsname(wfs, city, srs, expected, tolerance):
    params = {"SRSNAME": srs} if srs else {}
    answer, data = wfs(REQUEST="GetFeature", TYPENAMES="asset_streetlight", COUNT=1, **params)
    assert answer.status_code == 200, data
    [pos] = positions(xml(data))
    assert pos == pytest.approx(expected, abs=tolerance)


@pytest.mark.parametrize("srs", ["urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "urn:ogc:def:crs:OGC::CRS84"])
def test_geojson_is_longitude_first_whatever_the_wgs84_name(wfs, city, srs):
    _, data = wfs(REQUEST="GetFeature", TYPENAMES="asset_streetlight", COUNT=1, OUTPUTFORMAT=GEOJSON, SRSNAME=srs)
    [feature] = json.loads(data)["features"]
    assert feature["geometry"]["coordinates"] == pytest.approx([LON, LAT], abs=1e-6)


def test_a_big_geojson_answer_streams_every_feature(client, city, django_assert_max_num_queries):
    """No COUNT: GeoJSON has no page limit, so all 3,000 trees come in one streamed answer (server-side cursor
    in chunks of 2,000 rows) rather than a body built in memory."""
    trees = AssetType.objects.get(code="street-tree")
    x, y = city.lamps[0].geom.coords
    Asset.objects.bulk_create(
        (Asset(asset_type=trees, external_id=f"T-{n}", geom=Point(x + n % 60, y + n // 60, srid=crs.storage_srid()))
         for n in range(3000)), batch_size=1000)
    with django_assert_max_num_queries(2):  # the asset types (one feature type each), then one cursor for all rows
        answer = client.get(f"/wfs/?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=asset_street_tree"
                            f"&OUTPUTFORMAT={GEOJSON}")
        assert answer.status_code == 200 and answer.streaming
        collection = json.loads(body(answer))
    assert len(collection["features"]) == 3000 and "next" not in {link["rel"] for link in collection["links"]}
    assert len({f["properties"]["external_id"] for f in collection["features"]}) == 3000


BAD_REQUESTS = [
    ({"TYPENAMES": "no_such_type"}, "InvalidParameterValue", "typeNames"),
    ({"TYPENAMES": "asset_streetlight", "FILTER": "<fes:Filter"}, None, "filter"),  # malformed XML
    ({"TYPENAMES": "asset_streetlight", "FILTER": f"<fes:Filter {FES}><fes:PropertyIsEqualTo><fes:ValueReference>"
      "nothing</fes:ValueReference><fes:Literal>1</fes:Literal></fes:PropertyIsEqualTo></fes:Filter>"}, None, None),
    ({"TYPENAMES": "asset_streetlight", "SRSNAME": "EPSG:2249"}, "InvalidParameterValue", "srsName"),  # not offered
    ({"TYPENAMES": "asset_streetlight", "SRSNAME": "EPSG:nonsense"}, None, None),
    ({"TYPENAMES": "asset_streetlight", "COUNT": "many"}, "InvalidParameterValue", "count"),
    ({"TYPENAMES": "asset_streetlight", "SORTBY": "nothing DESC"}, None, None),
    ({"TYPENAMES": "asset_streetlight", "OUTPUTFORMAT": "application/vnd.ms-excel"}, None, None),
    ({"TYPENAMES": "asset_streetlight", "BBOX": "1,2,3"}, None, None),
    ({"REQUEST": "DescribeFeatureType", "TYPENAMES": "no_such_type"}, None, None),
    ({"REQUEST": "GetPropertyValue", "TYPENAMES": "asset_streetlight", "VALUEREFERENCE": "nothing"}, None, None),
    ({"REQUEST": "GetFeature"}, None, None),  # no type at all
    ({"VERSION": "9.9.9"}, None, None),
    ({"TYPENAMES": "asset_streetlight", "COUNT": "-3"}, "InvalidParameterValue", "count"),
    ({"TYPENAMES": "asset_streetlight", "STARTINDEX": "99999999999999999999"}, "InvalidParameterValue", "startIndex"),
    ({"TYPENAMES": "asset_streetlight", "RESULTTYPE": "everything"}, "InvalidParameterValue", "resultType"),
    ({"TYPENAMES": "asset_streetlight", "FILTER": f"<fes:Filter {FES}><fes:DWithin><fes:ValueReference>geom"
      "</fes:ValueReference><gml:Point xmlns:gml='http://www.opengis.net/gml/3.2' srsName='EPSG:26986'><gml:pos>"
      "1 2</gml:pos></gml:Point><fes:Distance uom='parsec'>3</fes:Distance></fes:DWithin></fes:Filter>"},
     "InvalidParameterValue", "uom"),
]


@pytest.mark.parametrize(("params", "code", "locator"), BAD_REQUESTS)
def test_bad_requests_get_a_4xx_exception_report_never_a_500(wfs, city, params, code, locator):
    answer, data = wfs(**{"REQUEST": "GetFeature", **params})
    assert 400 <= answer.status_code < 500, data
    got_code, got_locator, text = exception(data)
    assert text
    if code:
        assert got_code == code
    if locator:
        assert got_locator == locator
