"""The batch path outside a transaction: reader and writer threads with their own connections."""

import pytest
from django.contrib.gis.geos import Point

from gis import crs
from gis.models import Asset, AssetType
from workorders import linking, services
from workorders.models import RequestLink, Service
from workorders.services import RequestInput, request_create


@pytest.mark.django_db(transaction=True)
def test_batch_reads_and_stores_chunks_in_threads(registry, settings):
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
    settings.FIELDSVC_LINK_MEMORY_MIN_BATCH = 1
    seen = []
    assert linking.requests_link_batch(request_ids=ids, chunk=3, progress=seen.append) == 7
    assert seen == [3, 3, 1]
    links = RequestLink.objects.filter(pk__in=ids)
    assert {(link.state, link.asset_id) for link in links} == {("linked", lamp.pk)}
    assert all(2 <= link.asset_distance_m < 3 for link in links)
    assert linking.requests_link_batch(request_ids=ids, chunk=3) == 0  # all linked: nothing pending
