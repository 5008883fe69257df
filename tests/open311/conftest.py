"""Open311 fixtures: a small catalogue covering every attribute datatype, an API key, and a client."""

from xml.etree import ElementTree as ET

import orjson
import pytest
from django.test import Client

from workorders import services

# Independent of the renderer: the XML containers whose children form a JSON array.
XML_LISTS = {"services", "service_requests", "attributes", "values", "endpoints", "formats", "errors", "notes",
             "media_urls", "service_requests_updates", "service_request_updates"}

CATALOGUE = {
    "groups": [{"code": "streets", "name": "Streets", "i18n": {"es": "Calles"}}],
    "services": [
        {
            "code": "pothole", "name": "Pothole", "description": "A hole in the road.", "group": "streets",
            "department": "public-works", "sla_hours": 72, "keywords": ["hole", "road"],
            "notice": "We fix potholes within 3 days.", "asset_types": ["road-segment"], "snap_distance_m": 20,
            "i18n": {"es": {"name": "Bache", "description": "Un hoyo en la calle.", "keywords": ["bache"],
                            "notice": "Reparamos baches en 3 días.",
                            "attributes": {"SIZE": {"description": "¿Qué tamaño tiene?",
                                                    "values": {"small": "Pequeño", "large": "Grande"}}}}},
            "attributes": [
                {"code": "SIZE", "datatype": "singlevaluelist", "required": True, "order": 1,
                 "description": "How big is it?", "datatype_description": "Choose one",
                 "values": [{"key": "small", "name": "Smaller than a plate"}, {"key": "large", "name": "Larger"}]},
                {"code": "DEPTH", "datatype": "number", "order": 2, "description": "Depth in cm"},
                {"code": "SEEN", "datatype": "datetime", "order": 3, "description": "When did you notice it?"},
                {"code": "LANE", "datatype": "string", "order": 4, "description": "Which lane?"},
                {"code": "NOTES", "datatype": "text", "order": 5, "description": "Anything else?"},
                {"code": "HAZARDS", "datatype": "multivaluelist", "order": 6, "description": "Hazards nearby",
                 "values": [{"key": "water", "name": "Water"}, {"key": "traffic", "name": "Heavy traffic"}]},
                {"code": "SAFETY", "datatype": "text", "variable": False, "order": 7,
                 "description": "If it is dangerous, call 911."},
            ],
        },
        {"code": "streetlight-outage", "name": "Street Light Outage", "description": "A light is out.",
         "group": "streets", "department": "street-lighting", "sla_hours": 72},
        {"code": "building-inspection", "name": "Building Inspection Request", "description": "Ask for one.",
         "department": "public-works", "type": "batch", "sla_hours": 120},
        {"code": "trash-schedule", "name": "Trash schedule question", "description": "When is pickup?",
         "department": "public-works", "informational": True},
    ],
}


@pytest.fixture(autouse=True)
def fresh_rate_counters():
    """Rate-limit counters live in Redis per minute; each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def catalogue(registry):
    services.catalogue_load(data=CATALOGUE)


@pytest.fixture
def api_key(catalogue) -> str:
    _, key = services.api_key_create(name="test client")
    return key


@pytest.fixture
def client() -> Client:
    return Client()


def xml_data(body: bytes):
    """An Open311 XML body as the data its JSON twin holds (the Spark convention)."""
    return _convert(ET.fromstring(body))


def _convert(element: ET.Element):
    children = list(element)
    if element.tag in XML_LISTS:
        return [_convert(child) for child in children]
    if children:
        return {child.tag: _convert(child) for child in children}
    return element.text


def body_data(response):
    """Response body as data, from either format."""
    if response["Content-Type"].startswith("text/xml"):
        return xml_data(response.content)
    return orjson.loads(response.content)
