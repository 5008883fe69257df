"""Datetimes in listings are formatted by PostgreSQL (fieldsvc_w3c): they must equal Python's W3C-DTF."""

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.utils import timezone

from tests.open311.conftest import body_data
from tests.open311.test_conformance import BASE, post
from workorders.models import ServiceRequest
from workorders.open311.payloads import w3c

pytestmark = pytest.mark.django_db

ZONES = ["America/New_York", "America/St_Johns", "Asia/Kolkata", "Pacific/Chatham", "UTC", "Europe/Lisbon"]
INSTANTS = [
    dt.datetime(2026, 3, 8, 6, 59, 59, tzinfo=dt.UTC),  # one second before New York springs forward
    dt.datetime(2026, 3, 8, 7, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC),  # inside New York's repeated hour
    dt.datetime(2026, 7, 1, 12, 0, 0, 999999, tzinfo=dt.UTC),  # microseconds are cut, not rounded
    dt.datetime(2000, 2, 29, 23, 59, 59, tzinfo=dt.UTC),
]


@pytest.mark.parametrize("zone", ZONES)
def test_sql_w3c_matches_python_for_every_offset_and_dst_edge(zone):
    with connection.cursor() as cursor:
        for moment in INSTANTS:
            cursor.execute("SELECT fieldsvc_w3c(%s, %s)", [moment, zone])
            expected = moment.astimezone(zoneinfo.ZoneInfo(zone)).isoformat(timespec="seconds")
            assert cursor.fetchone()[0] == expected, (zone, moment)
        cursor.execute("SELECT fieldsvc_w3c(NULL, %s)", [zone])
        assert cursor.fetchone()[0] is None


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_listing_datetimes_are_the_stored_instants_in_the_server_zone(client, api_key, fmt, settings):
    settings.TIME_ZONE = "America/St_Johns"  # a half-hour offset, negative
    request_id = int(body_data(post(client, fmt, api_key))[0]["service_request_id"])
    stored = ServiceRequest.objects.get(pk=request_id)
    item = body_data(client.get(f"{BASE}/requests/{request_id}.{fmt}?extensions=true"))[0]
    with timezone.override("America/St_Johns"):
        assert item["requested_datetime"] == w3c(stored.requested_at)
        assert item["updated_datetime"] == w3c(stored.updated_at)
        assert item["expected_datetime"] == w3c(stored.expected_at)
    assert item["requested_datetime"].endswith(("-02:30", "-03:30"))
