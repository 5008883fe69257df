"""OWSLib (PyPI) against a live server: contents, GetFeature with a bbox, owslib.fes2 filters, paging, stored
queries, and the axis order of each srsName compared with a known point."""

import json

import pytest
from owslib import fes2
from owslib.etree import etree
from owslib.util import ServiceException
from owslib.wfs import WebFeatureService

from tests.geo import CAMBRIDGE_CITY_HALL_26986
from tests.wfs.support import GEOJSON, LAMPS, LAT, LON, PASSWORD, STORAGE_CRS, positions, values, web_mercator, xml

LAMP = "fieldsvc:asset_streetlight"


@pytest.fixture
def url(live_server) -> str:
    return f"{live_server.url}/wfs/"


@pytest.fixture
def service(url, city) -> WebFeatureService:
    return WebFeatureService(url, version="2.0.0", timeout=30)


class Gml32BBox(fes2.BBox):
    """owslib.fes2.BBox writes a GML 3.1.1 envelope and the property "ows:BoundingBox", which a FES 2.0 server
    need not know; the same BBOX with a GML 3.2 envelope on the geometry property, as the standard has it."""

    def toXML(self):
        node = etree.Element("{http://www.opengis.net/fes/2.0}BBOX")
        etree.SubElement(node, "{http://www.opengis.net/fes/2.0}ValueReference").text = "geom"
        envelope = etree.SubElement(node, "{http://www.opengis.net/gml/3.2}Envelope", srsName=self.crs)
        for corner, (x, y) in (("lowerCorner", self.bbox[:2]), ("upperCorner", self.bbox[2:])):
            etree.SubElement(envelope, f"{{http://www.opengis.net/gml/3.2}}{corner}").text = f"{x} {y}"
        return node


def filter_xml(operation) -> str:
    return etree.tostring(fes2.Filter(operation).toXML()).decode()


def test_contents_name_the_public_types_with_their_crs(service, url, staff_a):
    assert LAMP in service.contents and "fieldsvc:work_order" not in service.contents
    assert {str(crs) for crs in service.contents[LAMP].crsOptions} == {
        STORAGE_CRS, "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:OGC::CRS84", "urn:ogc:def:crs:EPSG::3857"}
    west, south, east, north = service.contents[LAMP].boundingBoxWGS84
    assert west <= LON <= east and south <= LAT <= north
    assert {"GetCapabilities", "DescribeFeatureType", "GetFeature", "GetPropertyValue"} <= {
        op.name for op in service.operations}
    staff = WebFeatureService(url, version="2.0.0", username="gis-a", password=PASSWORD, timeout=30)
    assert "fieldsvc:work_order" in staff.contents
    with pytest.raises(ServiceException, match="wrong password"):
        WebFeatureService(url, version="2.0.0", username="gis-a", password="wrong", timeout=30)


def test_getfeature_with_a_bbox(service, city):
    x, y = city.lamps[0].geom.coords  # L-0 and L-1 (20 m east) in a box in the layer's CRS
    answer = service.getfeature(typename=[LAMP], bbox=(x - 5, y - 5, x + 25, y + 5))
    assert values(xml(answer.read()), "external_id") == LAMPS[:2]


def test_fes2_filters(service, city):
    """Sent by POST: OWSLib's GET puts the filter in a QUERY parameter that no WFS 2.0 server reads."""
    x, y = city.lamps[0].geom.coords
    cases = [
        (fes2.PropertyIsEqualTo("external_id", "L-3"), ["L-3"]),
        (fes2.PropertyIsLike("external_id", "L-%", wildCard="%"), LAMPS),
        (fes2.And([fes2.PropertyIsEqualTo("status", "active"),
                   Gml32BBox([x - 5, y - 5, x + 65, y + 5], crs=STORAGE_CRS)]), ["L-0", "L-2"]),
        (fes2.And([fes2.PropertyIsLike("external_id", "L-*", wildCard="*"),
                   Gml32BBox([LAT - 0.0001, LON - 0.0001, LAT + 0.0001, LON + 0.0003],  # lat/lon: urn axis order
                             crs="urn:ogc:def:crs:EPSG::4326")]), LAMPS[:2]),
    ]
    for operation, expected in cases:
        answer = service.getfeature(typename=[LAMP], filter=filter_xml(operation), method="Post")
        assert values(xml(answer.read()), "external_id") == expected, filter_xml(operation)


def test_startindex_and_maxfeatures_page_through_every_feature_once(service, city):
    seen = []
    for start in range(0, 6, 2):
        page = xml(service.getfeature(typename=[LAMP], startindex=start, maxfeatures=2).read())
        assert int(page.get("numberReturned")) == min(2, 5 - start)
        seen += values(page, "external_id")
    assert seen == LAMPS


def test_srsname_sets_the_crs_and_axis_order(service):
    """L-0 stands at Cambridge City Hall; GML follows each name's axis order, GeoJSON is always x/y (lon/lat)."""
    for srs, expected, tolerance in [
        (STORAGE_CRS, CAMBRIDGE_CITY_HALL_26986, 0.01),
        ("urn:ogc:def:crs:EPSG::4326", (LAT, LON), 1e-6),  # authority axis order: latitude first
        ("EPSG:4326", (LON, LAT), 1e-6),  # legacy name: longitude first
        ("EPSG:3857", web_mercator(LON, LAT), 0.01),
    ]:
        [pos] = positions(xml(service.getfeature(typename=[LAMP], srsname=srs, maxfeatures=1).read()))
        assert pos == pytest.approx(expected, abs=tolerance), srs
    answer = service.getfeature(typename=[LAMP], srsname="urn:ogc:def:crs:EPSG::4326", maxfeatures=1,
                                outputFormat=GEOJSON)
    [feature] = json.loads(answer.read())["features"]
    assert feature["geometry"]["coordinates"] == pytest.approx([LON, LAT], abs=1e-6)


def test_the_get_feature_by_id_stored_query(service, city):
    lamp = city.lamps[2]
    answer = service.getfeature(storedQueryID="urn:ogc:def:query:OGC-WFS::GetFeatureById",
                                storedQueryParams={"ID": f"asset_streetlight.{lamp.pk}"})
    feature = xml(answer.read())
    assert feature.findtext("{http://fieldsvc.org/wfs}external_id") == "L-2"
