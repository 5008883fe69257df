"""The OpenAPI description is served, valid, covers every Open311 operation, and has a local UI."""

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_openapi_lists_every_open311_operation_in_both_formats(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    for route in ("discovery", "services", "services/{service_code}", "requests", "requests/{service_request_id}",
                  "servicerequestupdates", "tokens/{token}"):
        for fmt in ("xml", "json"):
            assert f"/open311/v2/{route}.{fmt}" in paths
    post = paths["/open311/v2/requests.json"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    names = {p["name"] for p in paths["/open311/v2/requests.json"]["get"]["parameters"]}
    assert {"lat", "long", "radius", "bbox", "q", "page", "page_size", "extensions", "updated_after"} <= names


def test_the_browsable_ui_works_offline(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200 and b"swagger-ui" in page.content
    assert b"cdn.jsdelivr" not in page.content and b"unpkg.com" not in page.content  # served by the sidecar
