"""Every kind of WFS answer validated offline against the official XSDs (WFS 2.0, FES 2.0, GML 3.2.1, OWS 1.1),
GetFeature through the application schema our own DescribeFeatureType returns."""


import pytest
from django.contrib.gis.geos import Point
from lxml import etree

from gis.models import Asset, AssetType
from tests.wfs import xsd
from tests.wfs.support import STORAGE_CRS, basic, feature_type_names, members, xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_type_has_a_feature(city):
    """One asset of each type the city fixture left empty, so no feature type is validated on an empty collection."""
    anchor = city.lamps[0].geom
    Asset.objects.bulk_create(
        Asset(asset_type=kind, external_id=f"{kind.code}-1", geom=Point(anchor.x - 5, anchor.y + 5, srid=anchor.srid))
        for kind in AssetType.objects.filter(assets__isnull=True))


def test_capabilities_are_valid_wfs_20(wfs, superuser):
    for headers in ({}, basic("gis-root")):  # the staff document lists one type more
        answer, data = wfs(REQUEST="GetCapabilities", headers=headers)
        assert answer.status_code == 200
        root = xsd.assert_valid(data)
        assert root.tag == "{http://www.opengis.net/wfs/2.0}WFS_Capabilities"


def test_describe_feature_type_is_an_xsd_that_compiles_with_gml_32(wfs, city, superuser):
    answer, data = wfs(REQUEST="DescribeFeatureType", headers=basic("gis-root"))
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/gml+xml")
    schema = xsd.compile_schema(data)  # imports gml/3.2.1/gml.xsd, served from the local copy
    assert schema is not None
    root = xml(data)
    elements = {e.get("name") for e in root.iterfind("{http://www.w3.org/2001/XMLSchema}element")}
    assert {"asset_streetlight", "utility_line", "utility_structure", "neighbourhood", "service_request",
            "work_order"} <= elements
    assert root.get("targetNamespace") == "http://fieldsvc.org/wfs"


def test_get_feature_of_every_feature_type_is_valid_gml_32(wfs, city, superuser, every_type_has_a_feature):
    staff = basic("gis-root")
    _, app_schema = wfs(REQUEST="DescribeFeatureType", headers=staff)
    _, capabilities = wfs(REQUEST="GetCapabilities", headers=staff)
    names = feature_type_names(capabilities)
    assert len(names) == AssetType.objects.count() + 5 and "fieldsvc:work_order" in names
    for name in names:
        for srs in (STORAGE_CRS, "urn:ogc:def:crs:EPSG::4326"):
            answer, data = wfs(REQUEST="GetFeature", TYPENAMES=name, SRSNAME=srs, headers=staff)
            assert answer.status_code == 200, (name, data[:500])
            root = xsd.assert_valid(data, app_xsd=app_schema)
            assert members(root), f"{name} came back empty"
    _, hits = wfs(REQUEST="GetFeature", TYPENAMES="asset_streetlight", RESULTTYPE="hits")
    assert xsd.assert_valid(hits, app_xsd=app_schema).get("numberMatched") == "5"


def test_get_property_value_is_a_valid_value_collection(wfs, city):
    _, app_schema = wfs(REQUEST="DescribeFeatureType")
    answer, data = wfs(REQUEST="GetPropertyValue", TYPENAMES="asset_streetlight", VALUEREFERENCE="external_id")
    assert answer.status_code == 200
    root = xsd.assert_valid(data, app_xsd=app_schema)
    assert root.tag == "{http://www.opengis.net/wfs/2.0}ValueCollection"


def test_stored_query_listings_are_valid(wfs, city):
    for request in ("ListStoredQueries", "DescribeStoredQueries"):
        answer, data = wfs(REQUEST=request)
        assert answer.status_code == 200
        root = xsd.assert_valid(data)
        assert root.tag == f"{{http://www.opengis.net/wfs/2.0}}{request}Response"


@pytest.mark.parametrize("params", [
    {"REQUEST": "GetFeature", "TYPENAMES": "nothing_here"},
    {"REQUEST": "GetFeature", "TYPENAMES": "asset_streetlight", "FILTER": "<fes:Filter"},
    {"REQUEST": "NoSuchOperation"},
])
def test_exception_reports_are_valid_ows_11(wfs, city, params):
    answer, data = wfs(**params)
    assert answer.status_code == 400
    assert xsd.assert_valid(data).tag == "{http://www.opengis.net/ows/1.1}ExceptionReport"


def test_the_401_exception_report_is_valid_ows_11(wfs, staff_a):
    answer, data = wfs(REQUEST="GetCapabilities", headers=basic("gis-a", "not-the-password"))
    assert answer.status_code == 401
    assert xsd.assert_valid(data).tag == "{http://www.opengis.net/ows/1.1}ExceptionReport"


def test_the_validator_rejects_what_the_schemas_forbid(wfs, city):
    """The validation is real: a feature with a wrong-typed property or a collection without its counts fails."""
    _, app_schema = wfs(REQUEST="DescribeFeatureType")
    _, data = wfs(REQUEST="GetFeature", TYPENAMES="asset_streetlight", COUNT="1")
    broken = data.replace(b"<fieldsvc:condition>50<", b"<fieldsvc:condition>fifty<")
    assert broken != data
    with pytest.raises(AssertionError, match="condition"):
        xsd.assert_valid(broken, app_xsd=app_schema)
    with pytest.raises(AssertionError, match="numberReturned"):
        xsd.assert_valid(data.replace(b' numberReturned="1"', b""), app_xsd=app_schema)


def test_schema_locations_outside_the_local_copies_are_refused_not_fetched():
    for location in ("http://example.com/other.xsd", "http://schemas.opengis.net/not/copied.xsd"):
        importer = ('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test">'
                    f'<xs:import namespace="urn:other" schemaLocation="{location}"/></xs:schema>').encode()
        with pytest.raises(etree.XMLSchemaParseError, match="Failed to parse"):
            xsd.compile_schema(importer)
