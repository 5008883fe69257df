"""Crew pings and the best crew for a work order, found through PostGIS KNN."""

import datetime as dt

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from gis import crs
from gis.models import Department
from tests.work.conftest import BASE_X, BASE_Y
from workorders.crews import crew_position_record, crews_best_for
from workorders.models import Crew, CrewPosition, ServiceRequest
from workorders.models import WorkOrderStatus as S
from workorders.work import work_order_transition, work_orders_generate

pytestmark = pytest.mark.django_db
MONDAY_10 = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 10:00 in Boston


def at(dx: float, dy: float = 0.0) -> Point:
    return Point(BASE_X + dx, BASE_Y + dy, srid=crs.storage_srid())


def test_pings_make_a_track_and_a_late_old_ping_does_not_move_the_crew_back(crew):
    t = dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC)
    crew_position_record(crew_id=crew.pk, point=at(0), at=t)
    crew_position_record(crew_id=crew.pk, point=at(500), at=t + dt.timedelta(minutes=5))
    crew_position_record(crew_id=crew.pk, point=at(100), at=t + dt.timedelta(minutes=1))  # synced late
    crew.refresh_from_db()
    assert crew.last_position.x == pytest.approx(BASE_X + 500) and crew.last_seen_at == t + dt.timedelta(minutes=5)
    assert list(CrewPosition.objects.filter(crew=crew).order_by("at").values_list("at", flat=True)) == [
        t, t + dt.timedelta(minutes=1), t + dt.timedelta(minutes=5)]


def test_best_crew_is_the_nearest_qualified_one_on_shift_in_area_with_room(catalogue, report):
    lights = Department.objects.get(code="street-lighting")
    request = report(dx=2)
    work_orders_generate()
    wo = ServiceRequest.objects.get(pk=request.pk).work_order  # its task needs a bucket truck
    make = dict(department=lights, skills=["bucket-truck"])
    crews = {
        "near": Crew.objects.create(code="near", name="Near", **make),
        "far": Crew.objects.create(code="far", name="Far", **make),
        "nearest-no-truck": Crew.objects.create(code="nearest-no-truck", name="No truck", department=lights),
        "nearest-night": Crew.objects.create(code="nearest-night", name="Night", shift_start=dt.time(22),
                                             shift_end=dt.time(6), **make),
        "nearest-elsewhere": Crew.objects.create(
            code="nearest-elsewhere", name="Elsewhere", service_area=MultiPolygon(
                Polygon.from_bbox((0, 0, 100, 100)), srid=crs.storage_srid()), **make),
        "parks": Crew.objects.create(code="parks", name="Parks", skills=["bucket-truck"],
                                     department=Department.objects.get(code="parks")),
        "nowhere": Crew.objects.create(code="nowhere", name="Nowhere", **make),
    }
    for code, dx in (("near", 300), ("far", 3000), ("nearest-no-truck", 5), ("nearest-night", 10),
                     ("nearest-elsewhere", 20), ("parks", 1)):
        crew_position_record(crew_id=crews[code].pk, point=at(dx, 3), at=MONDAY_10)
    best = crews_best_for(work_order=wo, now=MONDAY_10)
    assert [r.crew.code for r in best] == ["near", "far"]
    assert best[0].travel_s == pytest.approx((298 * 1.4) / (25 / 3.6), rel=1e-3)
    # Once "near" is full it drops out; at night only the night crew qualifies.
    crews["near"].max_open_work_orders = 0
    crews["near"].save()
    assert [r.crew.code for r in crews_best_for(work_order=wo, now=MONDAY_10)] == ["far"]
    night = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.UTC)  # Monday 23:00 in Boston
    assert [r.crew.code for r in crews_best_for(work_order=wo, now=night)] == ["nearest-night"]
    # The suggestion is what dispatch then accepts.
    work_order_transition(work_order_id=wo.pk, to=S.DISPATCHED, crew_id=best[1].crew.id)
    assert ServiceRequest.objects.get(pk=request.pk).work_order.crew.code == "far"


def test_widening_rounds_find_qualified_crews_behind_many_unqualified_ones(catalogue, report):
    lights = Department.objects.get(code="street-lighting")
    request = report(dx=2)
    work_orders_generate()
    wo = ServiceRequest.objects.get(pk=request.pk).work_order
    for n in range(60):  # near but off shift (a night crew), all nearer than the one that can go
        c = Crew.objects.create(code=f"night-{n}", name=f"N{n}", department=lights, skills=["bucket-truck"],
                                shift_start=dt.time(22), shift_end=dt.time(6))
        crew_position_record(crew_id=c.pk, point=at(10 + n), at=MONDAY_10)
    day = Crew.objects.create(code="day", name="Day", department=lights, skills=["bucket-truck"])
    crew_position_record(crew_id=day.pk, point=at(5000), at=MONDAY_10)
    assert [r.crew.code for r in crews_best_for(work_order=wo, now=MONDAY_10, limit=2)] == ["day"]
