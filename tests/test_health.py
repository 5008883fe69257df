"""GET /health: database, PostGIS version, broker and worker status as JSON."""

import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_database_postgis_and_broker(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["database"]["postgis_version"].startswith("3.")
    assert body["broker"] == {"ok": True, "transport": "redis"}
    assert set(body["worker"]) >= {"ok", "workers"}
    assert body["status"] in ("ok", "degraded")  # degraded: no worker is running


def test_health_is_503_with_the_reason_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["broker"]["ok"] is False and "Error" in body["broker"]["error"]
    assert body["database"]["ok"] is True


def test_health_rejects_writes(client):
    assert client.post("/health").status_code == 405
