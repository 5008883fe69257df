"""A small known 311 history for the statistics tests, with the figures worked out by hand.

Times are in March 2026 (t0 = Monday 2 March, 12:00 in Boston = 17:00 UTC); the window is the whole of March.
Three neighbourhoods: North (2,000 residents), South (500) and Harbour (no population figure), 1 km squares
side by side in the storage CRS near Boston City Hall.
"""

import datetime as dt

from django.contrib.gis.geos import MultiPolygon, Polygon

from gis import crs
from gis.models import Department, District
from workorders.models import Service, ServiceGroup, ServiceRequest

T0 = dt.datetime(2026, 3, 2, 17, tzinfo=dt.UTC)
WINDOW = {"start": "2026-03-01", "end": "2026-03-31"}
H = dt.timedelta(hours=1)


def _square(x0: float, y0: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((x0, y0, x0 + 1000, y0 + 1000)), srid=crs.storage_srid())


def stats_dataset() -> dict:
    """Needs the registry's departments. Returns the districts by name."""
    x, y = crs.storage_point(-71.0589, 42.3601)
    north = District.objects.create(external_id="n", name="North", city="Boston", population=2000, geom=_square(x, y))
    south = District.objects.create(external_id="s", name="South", city="Boston", population=500,
                                    geom=_square(x, y - 1000))
    harbour = District.objects.create(external_id="h", name="Harbour", city="Boston", geom=_square(x + 1000, y))
    streets = ServiceGroup.objects.create(code="streets", name="Streets")
    other = ServiceGroup.objects.create(code="other", name="Other")
    works, lights = Department.objects.get(code="public-works"), Department.objects.get(code="street-lighting")
    pothole = Service.objects.create(code="pothole", name="Pothole", group=streets, department=works)
    light = Service.objects.create(code="streetlight-outage", name="Street Light Outage", group=streets,
                                   department=lights)
    graffiti = Service.objects.create(code="graffiti", name="Graffiti", group=other, department=works)
    question = Service.objects.create(code="trash-schedule", name="Trash schedule question", group=other,
                                      department=works, informational=True)
    n = iter(range(1, 100))

    def request(service, district, *, at=T0, hours=None, target_h=None, **fields) -> ServiceRequest:
        closed = {"status": "closed", "detailed_status": "fixed", "closed_at": at + hours * H} if hours else {}
        return ServiceRequest.objects.create(
            service=service, department=service.department, district=district, reference=f"S-{next(n)}",
            requested_at=at, expected_at=at + target_h * H if target_h else None, email="resident@example.org",
            first_name="Private", description="private words", **closed, **fields)

    # Potholes (target 48 h) in North: 10 h and 30 h on time, 100 h late, one still open past its target,
    # and a duplicate of the first (closed with it: volume only).
    first = request(pothole, north, hours=10, target_h=48)
    request(pothole, north, hours=30, target_h=48)
    request(pothole, north, hours=100, target_h=48)
    request(pothole, north, target_h=48)
    request(pothole, north, hours=10, target_h=48, duplicate_of=first)
    # Street lights (target 72 h) in South: 200 h late; 50 h on time (reported a day later).
    request(light, south, hours=200, target_h=72)
    request(light, south, at=T0 + 24 * H, hours=50, target_h=72)
    # Graffiti (other group, target 120 h) in South: 5 h.
    request(graffiti, south, hours=5, target_h=120)
    # Left out everywhere: an inquiry (informational), and a pothole in January (outside the window).
    request(question, north, hours=0.01)
    request(pothole, north, at=dt.datetime(2026, 1, 10, 17, tzinfo=dt.UTC), hours=24, target_h=48)
    return {"north": north, "south": south, "harbour": harbour}
