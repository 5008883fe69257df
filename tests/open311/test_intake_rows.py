"""What one intake writes: the request, its pending link and its first note, all or nothing, once."""

import pytest

from tests.geo import CAMBRIDGE_CITY_HALL_WGS84
from workorders import services
from workorders.models import LinkState, NoteKind, RequestLink, RequestNote, Service, ServiceRequest
from workorders.services import RequestInput, request_create

pytestmark = pytest.mark.django_db
LON, LAT = CAMBRIDGE_CITY_HALL_WGS84


def test_request_link_and_note_are_written_together(catalogue):
    service = Service.objects.get(code="streetlight-outage")
    request, created = request_create(service=service, data=RequestInput(
        lat=LAT, long=LON, attributes={"asset_id": [" L-17 "]}))
    assert created
    link = RequestLink.objects.get(pk=request.pk)
    assert (link.state, link.asset_claim) == (LinkState.PENDING, "L-17")
    note = RequestNote.objects.get(request=request)
    assert (note.kind, note.status, note.description) == (NoteKind.SUBMITTED, "open", "Request received")
    assert note.created_at == request.requested_at


def test_a_reference_already_taken_is_drawn_again_with_no_stray_rows(catalogue, monkeypatch):
    service = Service.objects.get(code="streetlight-outage")
    first, _ = request_create(service=service, data=RequestInput(lat=LAT, long=LON))
    drawn = iter([first.reference, first.reference, "ZZZZ-2345"])
    monkeypatch.setattr(services, "_reference", lambda: next(drawn))
    second, _ = request_create(service=service, data=RequestInput(lat=LAT, long=LON, check_duplicates=False))
    assert second.reference == "ZZZZ-2345"
    assert ServiceRequest.objects.count() == 2
    # The skipped attempts wrote no link or note of their own (they would belong to the first request).
    assert RequestLink.objects.filter(pk__in=[first.pk, second.pk]).count() == RequestLink.objects.count() == 2
    assert sorted(RequestNote.objects.values_list("request_id", flat=True)) == sorted([first.pk, second.pk])
