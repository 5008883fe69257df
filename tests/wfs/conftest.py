"""WFS fixtures: a small city in PostGIS (assets of three types, utilities, a neighbourhood, requests and work
orders in two departments), staff accounts, and a WFS client helper that reads streamed answers."""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon

from gis import crs
from gis.models import Asset, AssetType, Department, District, UtilityLine, UtilityStructure
from tests.wfs.support import LAT, LON, PASSWORD, PERSONAL, body, wfs_url
from workorders import services
from workorders.models import DepartmentRole, Service, ServiceRequest, WorkOrder
from workorders.services import RequestInput, request_create

CATALOGUE = {"services": [
    {"code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
     "asset_types": ["streetlight"], "snap_distance_m": 30},
    {"code": "pothole", "name": "Pothole", "department": "public-works", "asset_types": ["road-segment"]},
]}


@pytest.fixture(autouse=True)
def fresh_wfs_cache():
    """The Basic-auth cache lives in the shared Redis: each test authenticates its own users afresh."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every Basic request without a cached answer checks a password: PBKDF2 costs ~0.7 s a time on this
    machine, which the tests (not the code under test) can do without."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class City:
    lamps: list[Asset]  # L-0 .. L-4, 20 m apart going east; L-0 exactly at Cambridge City Hall
    hydrants: list[Asset]
    road: Asset
    line: UtilityLine
    structure: UtilityStructure
    neighbourhood: District
    request: ServiceRequest  # carries PERSONAL
    lighting: Department  # department A
    public_works: Department  # department B
    work_a: list[WorkOrder]
    work_b: list[WorkOrder]


@pytest.fixture
def city(registry) -> City:
    services.catalogue_load(data=CATALOGUE)
    x, y = crs.storage_point(LON, LAT)
    srid = crs.storage_srid()
    lamp, hydrant, road = (AssetType.objects.get(code=c) for c in ("streetlight", "hydrant", "road-segment"))
    lamps = Asset.objects.bulk_create(
        Asset(asset_type=lamp, external_id=f"L-{n}", geom=Point(x + 20 * n, y, srid=srid),
              status="active" if n % 2 == 0 else "planned", condition=50 + n) for n in range(5))
    hydrants = Asset.objects.bulk_create(
        Asset(asset_type=hydrant, external_id=f"H-{n}", geom=Point(x, y + 30 * n, srid=srid)) for n in range(2))
    road_asset = Asset.objects.create(asset_type=road, external_id="MASS-AVE-1",
                                      geom=LineString((x - 50, y - 10), (x + 150, y - 10), srid=srid))
    line = UtilityLine.objects.create(kind="water", line_type="main", external_id="WM-1", material="ductile iron",
                                      diameter_mm=300, depth_m=1.8, install_year=1962,
                                      geom=LineString((x - 40, y - 5), (x + 120, y - 5), srid=srid))
    structure = UtilityStructure.objects.create(kind="sewer", structure_type="manhole", external_id="MH-1",
                                                depth_m=3.2, geom=Point(x + 10, y - 5, srid=srid))
    square = Polygon.from_bbox((x - 500, y - 500, x + 500, y + 500))
    square.srid = srid
    neighbourhood = District.objects.create(external_id="N-1", name="Mid-Cambridge", city="Cambridge",
                                            population=13_000, geom=MultiPolygon(square, srid=srid))
    outage, pothole = Service.objects.get(code="streetlight-outage"), Service.objects.get(code="pothole")
    request, _ = request_create(service=outage, data=RequestInput(
        lat=LAT, long=LON, check_duplicates=False, link_on_commit=False, address_string="795 Massachusetts Ave",
        **PERSONAL))
    lighting, public_works = outage.department, pothole.department
    work_a = WorkOrder.objects.bulk_create(
        WorkOrder(status="ready", department=lighting, service=outage, title=f"Relamp A-{n}",
                  location=Point(x + 20 * n, y, srid=srid)) for n in range(2))
    work_b = WorkOrder.objects.bulk_create(
        WorkOrder(status="new", department=public_works, service=pothole, title=f"Patch B-{n}",
                  location=Point(x - 20 * n, y - 10, srid=srid)) for n in range(3))
    return City(lamps, hydrants, road_asset, line, structure, neighbourhood, request, lighting, public_works,
                work_a, work_b)


@pytest.fixture
def staff_a(city):
    """Staff (not superuser) with a role in department A (street lighting) only."""
    user = get_user_model().objects.create_user("gis-a", password=PASSWORD, is_staff=True)
    DepartmentRole.objects.create(user=user, department=city.lighting, role="viewer")
    return user


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("gis-root", "root@example.city", PASSWORD)


@pytest.fixture
def wfs(client):
    """GET /wfs/ with KVP parameters; returns (response, body bytes), reading a stream to its end."""

    def get(*, headers: dict | None = None, **params):
        response = client.get(wfs_url(**params), headers=headers or {})
        return response, body(response)

    return get
