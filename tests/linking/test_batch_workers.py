"""The batch path outside a transaction: forked processes, or threads, each with their own connections."""

import pytest
from django.contrib.gis.geos import Point

from fieldsvc import forking
from gis import crs
from gis.models import Asset, AssetType
from workorders import linking, services
from workorders.models import RequestLink, Service
from workorders.services import RequestInput, request_create


def seven_reports() -> tuple[Asset, list[int]]:
    services.catalogue_load(data={"services": [{
        "code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
        "asset_types": ["streetlight"], "snap_distance_m": 30}]})
    x, y = crs.storage_point(-71.1431224, 42.3804127)
    lamp = Asset.objects.create(asset_type=AssetType.objects.get(code="streetlight"), external_id="L-1",
                                geom=Point(x + 2, y, srid=crs.storage_srid()))
    service = Service.objects.get(code="streetlight-outage")
    ids = [request_create(service=service, data=RequestInput(lat=42.3804127 + n * 1e-6, long=-71.1431224,
                                                             check_duplicates=False,
                                                             link_on_commit=False))[0].pk for n in range(7)]
    return lamp, ids


@pytest.mark.parametrize(("processes", "progress"), [(1, [3, 3, 1]), (2, [1, 2, 2, 2])])
@pytest.mark.django_db(transaction=True)
def test_batch_links_in_chunks_in_processes_or_threads(registry, settings, processes, progress):
    lamp, ids = seven_reports()
    settings.FIELDSVC_LINK_MEMORY_MIN_BATCH = 1
    settings.FIELDSVC_LINK_PROCESSES = processes
    seen = []
    assert linking.requests_link_batch(request_ids=ids, chunk=3, progress=seen.append) == 7
    assert sorted(seen) == sorted(progress)  # chunks of at most 3, as many per process
    links = RequestLink.objects.filter(pk__in=ids)
    assert {(link.state, link.asset_id) for link in links} == {("linked", lamp.pk)}
    assert all(2 <= link.asset_distance_m < 3 for link in links)
    assert linking.requests_link_batch(request_ids=ids, chunk=3) == 0  # all linked: nothing pending


@pytest.mark.django_db(transaction=True)
def test_a_failing_child_fails_the_batch_and_leaves_its_reports_pending(registry, settings, monkeypatch):
    lamp, ids = seven_reports()
    settings.FIELDSVC_LINK_MEMORY_MIN_BATCH = 1
    settings.FIELDSVC_LINK_PROCESSES = 2
    decide = linking._decide_chunk

    def fails_on_the_last_report(ctx, reports, *found):
        if ids[-1] in {r.id for r in reports}:
            raise ValueError("policy bug")
        return decide(ctx, reports, *found)

    monkeypatch.setattr(linking, "_decide_chunk", fails_on_the_last_report)
    with pytest.raises(forking.ChildFailed, match="policy bug"):
        linking.requests_link_batch(request_ids=ids, chunk=2)
    states = dict(RequestLink.objects.filter(pk__in=ids).values_list("pk", "state"))
    assert states[ids[-1]] == "pending"  # its chunk was not stored: the sweeper or a re-run takes it
    assert list(states.values()).count("linked") >= 4  # the other child's chunks were stored
    monkeypatch.undo()
    assert linking.requests_link_batch(request_ids=ids, chunk=2) == list(states.values()).count("pending")
