"""Work order fixtures: a small catalogue, lamps on a real Cambridge street, crews, a report helper."""

import pytest
from django.contrib.gis.geos import Point

from gis import crs
from gis.models import Asset, AssetType, Department
from workorders import linking, services
from workorders.models import Crew, ServiceRequest
from workorders.services import RequestInput, request_create

# Massachusetts Avenue near Cambridge City Hall: lamps 40 m apart along x, and one 600 m away.
BASE_X, BASE_Y = crs.storage_point(-71.1043, 42.3670)
CATALOGUE = {"services": [
    {"code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
     "asset_types": ["streetlight"], "snap_distance_m": 30, "sla_hours": 72, "work_order_mode": "auto",
     "task_minutes": 45, "task_skills": ["bucket-truck"]},
    {"code": "pothole", "name": "Pothole", "department": "public-works", "sla_hours": 48,
     "work_order_mode": "triage"},
    {"code": "graffiti", "name": "Graffiti", "department": "public-works", "sla_hours": 120,
     "work_order_mode": "auto", "close_on_complete": False},
    {"code": "trash-schedule", "name": "Trash schedule question", "department": "public-works",
     "informational": True},
]}


def storage_to_lonlat(x: float, y: float) -> tuple[float, float]:
    point = Point(x, y, srid=crs.storage_srid())
    point.transform(4326)
    return point.x, point.y


@pytest.fixture
def catalogue(registry):
    services.catalogue_load(data=CATALOGUE)
    lamp_type = AssetType.objects.get(code="streetlight")
    for n, dx in enumerate((0, 40, 80, 600)):
        Asset.objects.create(asset_type=lamp_type, external_id=f"L-{n}",
                             geom=Point(BASE_X + dx, BASE_Y, srid=crs.storage_srid()))


@pytest.fixture
def crew(catalogue):
    return Crew.objects.create(code="lights-1", name="Lights 1", department=Department.objects.get(
        code="street-lighting"), skills=["bucket-truck"])


@pytest.fixture
def report():
    def make(service_code: str = "streetlight-outage", dx: float = 2.0, description: str = "", **fields):
        lon, lat = storage_to_lonlat(BASE_X + dx, BASE_Y + 3)
        request, _ = request_create(service=services.Service.objects.get(code=service_code), data=RequestInput(
            lat=lat, long=lon, description=description, require_answers=False, check_duplicates=False,
            **fields))
        assert linking.request_link(request_id=request.pk) == "linked"
        return ServiceRequest.objects.select_related("link", "service").get(pk=request.pk)

    return make
