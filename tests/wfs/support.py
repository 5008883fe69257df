"""Helpers for reading WFS answers in tests: KVP URLs, streamed bodies, GML members and their values."""

import base64
import math
from urllib.parse import urlencode

from lxml import etree

from tests.geo import CAMBRIDGE_CITY_HALL_WGS84

LON, LAT = CAMBRIDGE_CITY_HALL_WGS84  # lamp L-0 stands exactly here
LAMPS = ["L-0", "L-1", "L-2", "L-3", "L-4"]  # the city fixture's streetlights, 20 m apart going east
PASSWORD = "wfs-test-pw-1"
# What a resident typed about themselves: none of it may leave through the public service_request type.
PERSONAL = {
    "email": "quillonia.vex@example.org", "phone": "+1 617 555 0199", "first_name": "Quillonia",
    "last_name": "Vextrabridge", "device_id": "device-7f3a9c01", "account_id": "acct-55k2zz",
    "description": "Zorbleflux lamp flickering near my house",
}

NS = {
    "wfs": "http://www.opengis.net/wfs/2.0",
    "gml": "http://www.opengis.net/gml/3.2",
    "ows": "http://www.opengis.net/ows/1.1",
    "fes": "http://www.opengis.net/fes/2.0",
    "fieldsvc": "http://fieldsvc.org/wfs",
}
GML = "application/gml+xml; version=3.2"
GEOJSON = "application/json; subtype=geojson; charset=utf-8"
CSV = "text/csv; subtype=csv; charset=utf-8"
STORAGE_CRS = "urn:ogc:def:crs:EPSG::26986"


def wfs_url(base: str = "/wfs/", **params) -> str:
    return base + "?" + urlencode({"SERVICE": "WFS", "VERSION": "2.0.0", **params})


def body(response) -> bytes:
    """The whole body, reading a streamed answer to its end."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True))


def members(root: etree._Element) -> list[etree._Element]:
    """The features (or values) of a wfs:FeatureCollection / wfs:ValueCollection, in document order."""
    return [child for member in root.findall("wfs:member", NS) for child in member]


def values(root: etree._Element, prop: str) -> list[str]:
    return [feature.findtext(f"fieldsvc:{prop}", namespaces=NS) for feature in members(root)]


def positions(root: etree._Element) -> list[tuple[float, float]]:
    """The two numbers of each gml:pos, in the order the server wrote them (axis order is the point)."""
    return [tuple(float(n) for n in pos.text.split()) for pos in root.iterfind(".//fieldsvc:*/gml:Point/gml:pos", NS)]


def exception(data: bytes) -> tuple[str, str | None, str]:
    """(exceptionCode, locator, text) of an OWS 1.1 ExceptionReport."""
    root = xml(data)
    assert root.tag == f"{{{NS['ows']}}}ExceptionReport", data[:300]
    item = root.find("ows:Exception", NS)
    return item.get("exceptionCode"), item.get("locator"), item.findtext("ows:ExceptionText", namespaces=NS)


def feature_type_names(capabilities: bytes) -> list[str]:
    return [name.text for name in xml(capabilities).iterfind("wfs:FeatureTypeList/wfs:FeatureType/wfs:Name", NS)]


def basic(username: str, password: str = PASSWORD) -> dict:
    """The Authorization header a GIS client sends (HTTP Basic)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def web_mercator(lon: float, lat: float) -> tuple[float, float]:
    """EPSG:3857 by its defining formulas (spherical Mercator on the WGS84 semi-major axis), not by PROJ."""
    radius = 6_378_137.0
    return radius * math.radians(lon), radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
