"""The in-process district lookup: right district, rebuilt when districts change, used by intake."""

import json

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon

from gis import areas, crs
from gis.models import District
from tests.geo import CAMBRIDGE_CITY_HALL_WGS84

pytestmark = pytest.mark.django_db
LON, LAT = CAMBRIDGE_CITY_HALL_WGS84


def _square(lon: float, lat: float, size: float = 0.01) -> MultiPolygon:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return MultiPolygon(GEOSGeometry(json.dumps({"type": "Polygon", "coordinates": [ring]}), srid=4326), srid=4326)


def test_the_district_holding_a_point_is_found_and_new_districts_are_seen(settings):
    west = District.objects.create(external_id="w", name="West", geom=_square(LON - 0.005, LAT - 0.005))
    x, y = crs.storage_point(LON, LAT)
    assert areas.district_id_at(x, y) == west.pk
    far_x, far_y = crs.storage_point(LON + 0.05, LAT)
    assert areas.district_id_at(far_x, far_y) is None
    east = District.objects.create(external_id="e", name="East", geom=_square(LON + 0.045, LAT - 0.005))
    assert areas.district_id_at(far_x, far_y) == east.pk  # FIELDSVC_AREAS_RECHECK_S = 0 in tests


def test_within_the_recheck_time_the_cached_index_answers(settings):
    District.objects.create(external_id="w", name="West", geom=_square(LON - 0.005, LAT - 0.005))
    x, y = crs.storage_point(LON, LAT)
    areas.district_id_at(x, y)
    settings.FIELDSVC_AREAS_RECHECK_S = 3600
    District.objects.all().delete()
    assert areas.district_id_at(x, y) is not None  # not re-read yet: the point of the cache


def test_intake_records_the_neighbourhood(catalogue_with_district):
    request = catalogue_with_district
    assert request.district.name == "Mid Cambridge"


@pytest.fixture
def catalogue_with_district(registry):
    from tests.open311.conftest import CATALOGUE
    from workorders import services
    from workorders.models import Service
    from workorders.services import RequestInput, request_create

    services.catalogue_load(data=CATALOGUE)
    District.objects.create(external_id="mc", name="Mid Cambridge", geom=_square(LON - 0.005, LAT - 0.005))
    request, _ = request_create(service=Service.objects.get(code="streetlight-outage"),
                                data=RequestInput(lat=LAT, long=LON))
    return request
