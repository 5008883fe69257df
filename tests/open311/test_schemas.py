"""Responses validate against the Open311 JSON schemas of open311/schema-validation (copied in schemas/)."""

import json
from pathlib import Path

import orjson
import pytest
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.open311.test_conformance import LAT, LON, post

pytestmark = pytest.mark.django_db
SCHEMAS = Path(__file__).parent / "schemas"
REGISTRY = Registry().with_resources(
    (path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT7))
    for path in SCHEMAS.glob("*.json")
)


def validator(name: str) -> Draft7Validator:
    return Draft7Validator(json.loads((SCHEMAS / name).read_text()), registry=REGISTRY,
                           format_checker=FormatChecker())


def errors(name: str, body: bytes) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(orjson.loads(body))]


def test_services_validate(client, catalogue):
    assert errors("services.json", client.get("/open311/v2/services.json").content) == []


def test_service_definitions_validate(client, catalogue):
    for code in ("pothole", "streetlight-outage"):
        assert errors("service-definition.json", client.get(f"/open311/v2/services/{code}.json").content) == []


def test_requests_validate_plain_and_with_extensions(client, api_key):
    post(client, "json", api_key, description="dark", media_url="https://example.org/p.jpg",
         address_string="795 Massachusetts Ave")
    post(client, "json", api_key, service_code="trash-schedule", lat=None, long=None)
    post(client, "json", api_key, lat=LAT + 0.01, long=LON)
    for query in ("", "?extensions=true", "?status=closed"):
        body = client.get(f"/open311/v2/requests.json{query}").content
        assert orjson.loads(body) and errors("requests.json", body) == []
    one = orjson.loads(client.get("/open311/v2/requests.json").content)[0]["service_request_id"]
    assert errors("requests.json", client.get(f"/open311/v2/requests/{one}.json?extensions=true").content) == []


def test_the_schemas_catch_a_wrong_response():
    wrong = orjson.dumps([{"service_request_id": 12, "status": "pending", "service_code": "x"}])
    found = errors("requests.json", wrong)
    assert any("requested_datetime" in e for e in found) and any("pending" in e for e in found)
