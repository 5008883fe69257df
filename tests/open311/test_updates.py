"""RQ-16: mySociety's servicerequestupdates, GET (the feed) and POST (a client's update), and status changes."""

import orjson
import pytest

from tests.open311.conftest import body_data
from tests.open311.test_conformance import FORMATS, LAT, LON, W3C, created_id, post
from workorders.models import ServiceRequest
from workorders.services import request_status_change

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"


def update(client, fmt, api_key, request_id, **fields):
    return client.post(f"{BASE}/servicerequestupdates.{fmt}",
                       {"api_key": api_key, "service_request_id": request_id} | fields)


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ16_staff_steps_appear_in_the_update_feed_in_mysociety_states(client, api_key, fmt):
    request = ServiceRequest.objects.get(pk=created_id(post(client, fmt, api_key)))
    request_status_change(request=request, detailed_status="in_progress", description="Crew on the way",
                          author="dispatcher Kim")
    request_status_change(request=request, detailed_status="fixed", description="New lamp fitted")
    response = client.get(f"{BASE}/servicerequestupdates.{fmt}")
    if fmt == "xml":
        assert b"<service_requests_updates><request_update>" in response.content
    feed = body_data(response)
    assert [(u["status"], u["description"]) for u in feed] == [("IN_PROGRESS", "Crew on the way"),
                                                              ("FIXED", "New lamp fitted")]
    assert all(W3C.match(u["updated_datetime"]) and u["service_request_id"] == str(request.pk) for u in feed)
    assert b"Kim" not in response.content  # who did it is not public
    request.refresh_from_db()
    assert (request.status, request.closed_at is not None) == ("closed", True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ16_a_client_update_reopens_and_a_resend_is_recognised(client, api_key, fmt):
    request_id = created_id(post(client, fmt, api_key))
    request_status_change(request=ServiceRequest.objects.get(pk=request_id), detailed_status="fixed")
    first = update(client, fmt, api_key, request_id, status="OPEN", description="Still dark tonight",
                   update_id="fms-77", updated_datetime="2026-11-20T21:00:00-05:00")
    again = update(client, fmt, api_key, request_id, status="OPEN", description="Still dark tonight",
                   update_id="fms-77")
    assert (first.status_code, again.status_code) == (201, 200)
    if fmt == "xml":
        assert b"<service_request_updates><request_update><update_id>" in first.content
    assert body_data(first) == body_data(again)
    request = ServiceRequest.objects.get(pk=request_id)
    assert (request.status, request.detailed_status, request.closed_at) == ("open", "reopened", None)
    assert list(request.notes.values_list("kind", flat=True)) == ["submitted", "closed", "reopened"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ16_bad_updates_are_refused_and_change_nothing(client, api_key, fmt):
    request_id = created_id(post(client, fmt, api_key))
    assert update(client, fmt, "wrong", request_id, status="FIXED").status_code == 403
    assert update(client, fmt, api_key, "999999", status="FIXED").status_code == 404
    assert update(client, fmt, api_key, request_id, status="SORT_OF").status_code == 400
    assert update(client, fmt, api_key, request_id, description="<script>x</script>").status_code == 400
    request = ServiceRequest.objects.get(pk=request_id)
    assert request.status == "open" and request.notes.count() == 1


def test_update_without_status_adds_a_comment_only(client, api_key):
    request_id = created_id(post(client, "json", api_key))
    response = update(client, "json", api_key, request_id, description="It flickers too")
    assert response.status_code == 201
    feed = orjson.loads(client.get(f"{BASE}/servicerequestupdates.json").content)
    assert [(u["status"], u["description"]) for u in feed] == [("OPEN", "It flickers too")]
    assert ServiceRequest.objects.get(pk=request_id).status == "open"
    assert LAT and LON  # same place as the other tests


def test_a_huge_request_number_is_a_400_not_a_server_error(client, api_key):
    assert update(client, "json", api_key, "9" * 30, status="FIXED").status_code == 400
