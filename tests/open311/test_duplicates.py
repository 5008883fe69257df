"""Duplicates: a report near an open one of the same or a related service is linked to it."""

import datetime as dt

import orjson
import pytest
from django.utils import timezone

from tests.geo import CAMBRIDGE_CITY_HALL_WGS84
from workorders.models import Follower, Service, ServiceRequest
from workorders.services import RequestInput, request_create

pytestmark = pytest.mark.django_db

LON, LAT = CAMBRIDGE_CITY_HALL_WGS84
# 0.0001 degree of latitude is ~11 m here; 0.001 is ~111 m (checked with pyproj in test_distance_is_metres).
ABOUT_11_M, ABOUT_111_M = 0.0001, 0.001


def report(code: str, lat: float = LAT, **fields) -> ServiceRequest:
    service = Service.objects.get(code=code)
    answers = {"SIZE": ["small"]} if code == "pothole" else {}
    request, _ = request_create(service=service, data=RequestInput(lat=lat, long=LON, attributes=answers, **fields))
    return request


def test_a_second_report_nearby_is_a_duplicate_and_its_reporter_follows_the_first(catalogue):
    first = report("streetlight-outage", email="first@example.org")
    second = report("streetlight-outage", lat=LAT + ABOUT_11_M, email="second@example.org")
    second.refresh_from_db()
    assert second.duplicate_of_id == first.pk
    assert (second.status, second.detailed_status) == ("closed", "duplicate")
    assert first.reference in second.status_notes
    assert set(Follower.objects.filter(request=first).values_list("email", "via")) == {
        ("first@example.org", "reporter"), ("second@example.org", "duplicate")
    }
    assert list(first.notes.values_list("kind", flat=True)) == ["submitted", "activity"]
    assert list(second.notes.values_list("kind", flat=True)) == ["submitted", "duplicate"]


def test_a_related_service_counts_as_the_same_problem(catalogue):
    light = Service.objects.get(code="streetlight-outage")
    light.related.add(Service.objects.get(code="pothole"))
    first = report("pothole")
    assert report("streetlight-outage", lat=LAT + ABOUT_11_M).duplicate_of_id == first.pk


@pytest.mark.parametrize("case", ["too far", "too late", "first is closed", "other service"])
def test_no_duplicate_when(catalogue, settings, case):
    first = report("streetlight-outage")
    lat, code = LAT + ABOUT_11_M, "streetlight-outage"
    if case == "too far":
        lat = LAT + ABOUT_111_M
    elif case == "too late":
        ServiceRequest.objects.filter(pk=first.pk).update(
            requested_at=timezone.now() - dt.timedelta(hours=settings.FIELDSVC_DUPLICATE_WINDOW_H + 1))
    elif case == "first is closed":
        ServiceRequest.objects.filter(pk=first.pk).update(status="closed", detailed_status="fixed",
                                                          closed_at=timezone.now())
    else:
        code = "pothole"
    second = report(code, lat=lat)
    assert second.duplicate_of_id is None and second.status == "open"


def test_radius_is_a_setting_in_metres(catalogue, settings):
    settings.FIELDSVC_DUPLICATE_RADIUS_M = 150
    first = report("streetlight-outage")
    assert report("streetlight-outage", lat=LAT + ABOUT_111_M).duplicate_of_id == first.pk


def test_distance_is_metres():
    from gis import crs

    a, b = crs.storage_point(LON, LAT), crs.storage_point(LON, LAT + ABOUT_111_M)
    assert 110 < ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5 < 112


def test_clients_can_suggest_open_cases_nearby_before_submitting(client, api_key):
    first = report("streetlight-outage")
    report("streetlight-outage", lat=LAT + ABOUT_111_M * 5)
    response = client.get(f"/open311/v2/requests.json?lat={LAT}&long={LON}&radius=100"
                          "&service_code=streetlight-outage&status=open")
    assert [r["service_request_id"] for r in orjson.loads(response.content)] == [str(first.pk)]
