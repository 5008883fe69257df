"""Analytics: inquiries and reports counted by kind, channel and service; survey results stored and summed."""

import pytest

from tests.open311.test_conformance import BASE, LAT, LON
from workorders.models import Survey
from workorders.services import request_status_change, survey_answer

pytestmark = pytest.mark.django_db


def submit(client, api_key, code, **fields):
    form = {"api_key": api_key, "service_code": code, **fields}
    response = client.post(f"{BASE}/requests.json", form)
    assert response.status_code == 201, response.content
    return response.json()[0]["service_request_id"]


def counts(client, **params):
    response = client.get("/api/analytics/requests", params)
    assert response.status_code == 200, response.content
    return {row["key"]: row for row in response.json()["rows"]}


def test_inquiries_are_counted_with_their_channel_and_topic_and_never_open(client, api_key):
    submit(client, api_key, "trash-schedule", channel="phone", description="When is pickup on Elm St?")
    submit(client, api_key, "trash-schedule", channel="walk_in")  # no place at all
    submit(client, api_key, "streetlight-outage", lat=LAT, long=LON, channel="app")
    by_kind = counts(client, by="kind")
    assert by_kind["inquiry"]["count"] == 2 and by_kind["inquiry"]["open"] == 0 and by_kind["inquiry"]["closed"] == 2
    assert by_kind["report"]["count"] == 1 and by_kind["report"]["open"] == 1
    inquiries = counts(client, by="channel", informational="true")
    assert {key: row["count"] for key, row in inquiries.items()} == {"phone": 1, "walk_in": 1}
    topics = counts(client, by="service", informational="true")
    assert topics["trash-schedule"]["count"] == 2 and topics["trash-schedule"]["label"] == "Trash schedule question"
    assert counts(client, by="service", informational="false").keys() == {"streetlight-outage"}


def test_the_window_is_whole_local_days(client, api_key):
    submit(client, api_key, "streetlight-outage", lat=LAT, long=LON)
    today = client.get("/api/analytics/requests", {"by": "day"}).json()["rows"][0]["key"]
    assert counts(client, by="status", start=today, end=today)["open"]["count"] == 1
    assert counts(client, by="status", end="2020-01-01") == {}


@pytest.mark.parametrize("params, field", [
    ({"by": "colour"}, "by"), ({}, "by"), ({"by": "kind", "start": "yesterday"}, "start"),
    ({"by": "kind", "start": "2026-05-02", "end": "2026-05-01"}, "end"),
    ({"by": "kind", "informational": "maybe"}, "informational"),
])
def test_bad_parameters_get_400_naming_the_field(client, params, field):
    response = client.get("/api/analytics/requests", params)
    assert response.status_code == 400 and field in response.json()


def test_survey_answers_are_summed_per_service(client, api_key, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from workorders.models import ServiceRequest

    for n, (fixed, satisfaction) in enumerate([(True, 5), (True, 4), (False, 1)]):
        request_id = submit(client, api_key, "streetlight-outage", lat=LAT + n * 0.01, long=LON,
                            email=f"r{n}@example.org")
        request_status_change(request=ServiceRequest.objects.get(pk=request_id), detailed_status="fixed")
        survey_answer(survey=Survey.objects.get(request_id=request_id), fixed=fixed, satisfaction=satisfaction)
    summary = client.get("/api/analytics/surveys").json()
    assert (summary["sent"], summary["answered"], summary["fixed"], summary["not_fixed"]) == (3, 3, 2, 1)
    assert summary["satisfaction"] == {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1}
    assert summary["satisfaction_mean"] == pytest.approx(3.33)
    (row,) = summary["by_service"]
    assert row["code"] == "streetlight-outage" and row["answered"] == 3 and row["fixed"] == 2
    assert client.get("/api/analytics/surveys", {"start": "2020-01-01", "end": "2020-01-02"}).json()["sent"] == 0


@pytest.mark.parametrize("by", sorted(__import__("workorders.analytics").analytics.DIMENSIONS))
def test_every_dimension_counts_every_request(client, api_key, by):
    submit(client, api_key, "streetlight-outage", lat=LAT, long=LON, channel="app")
    submit(client, api_key, "trash-schedule", channel="phone")
    body = client.get("/api/analytics/requests", {"by": by}).json()
    assert body["total"] == 2 and sum(row["count"] for row in body["rows"]) == 2
    assert all(row["label"] for row in body["rows"])
