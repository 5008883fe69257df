"""Stored day plans for a department, versions that cannot overwrite each other, urgent insertion."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from gis import crs
from gis.models import Department
from tests.work.conftest import BASE_X, BASE_Y
from workorders import day_plans
from workorders.crews import crew_position_record
from workorders.day_plans import PlanSuperseded, crew_plan, day_plan_insert_urgent, day_plan_make
from workorders.models import Crew, DayPlan, ServiceRequest, WorkOrder
from workorders.models import WorkOrderStatus as S
from workorders.work import work_order_transition, work_orders_generate

pytestmark = pytest.mark.django_db
MONDAY_9 = dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)  # 09:00 in Boston


def crew_at(code: str, dx: float) -> Crew:
    crew = Crew.objects.create(code=code, name=code, department=Department.objects.get(code="street-lighting"),
                               skills=["bucket-truck"], depot=Point(BASE_X + dx, BASE_Y, srid=crs.storage_srid()))
    crew_position_record(crew_id=crew.pk, point=crew.depot, at=MONDAY_9)
    return crew


def open_work(report, spots) -> list[WorkOrder]:
    ids = []
    for dx in spots:
        request = report(dx=dx, requested_at=MONDAY_9 - dt.timedelta(hours=1))
        work_orders_generate(request_ids=[request.pk])
        ids.append(ServiceRequest.objects.get(pk=request.pk).work_order_id)
    return list(WorkOrder.objects.filter(pk__in=ids).order_by("pk"))


def test_a_day_plan_covers_the_open_work_within_shifts_and_keeps_held_work_with_its_crew(catalogue, report):
    west, east = crew_at("west", -3000), crew_at("east", 6000)
    work = open_work(report, [-2500, -2000, 5000, 5500, 200, 900])
    held = work[-1]
    work_order_transition(work_order_id=held.pk, to=S.DISPATCHED, crew_id=west.pk)  # west holds the eastern-most
    plan = day_plan_make(department_id=west.department_id, now=MONDAY_9, seconds=1)
    assert (plan.version, plan.unplanned) == (1, [])
    stops = list(plan.stops.order_by("crew__code", "sequence"))
    assert sorted(s.work_order_id for s in stops) == sorted(w.pk for w in work)
    assert next(s for s in stops if s.work_order_id == held.pk).crew_id == west.pk
    for crew in (west, east):
        mine = [s for s in stops if s.crew_id == crew.pk]
        assert [s.sequence for s in mine] == list(range(1, len(mine) + 1))
        shift_end = dt.datetime(2026, 11, 23, 15, 30, tzinfo=timezone.get_current_timezone())
        for before, after in zip(mine, mine[1:], strict=False):
            assert before.end_at <= after.arrive_at <= after.start_at
        assert all(MONDAY_9 <= s.arrive_at and s.end_at <= shift_end for s in mine)
        assert all(s.end_at - s.start_at == dt.timedelta(minutes=45) for s in mine)  # the service's task time
    assert [s.work_order_id for s in crew_plan(crew_id=east.pk, date=dt.date(2026, 11, 23))] == [
        s.work_order_id for s in stops if s.crew_id == east.pk]


def test_a_plan_solved_from_older_data_does_not_overwrite_a_newer_one(catalogue, report, monkeypatch):
    crew_at("solo", 0)
    open_work(report, [100, 300])
    department = Department.objects.get(code="street-lighting").pk
    solve = day_plans._solve

    def slow_solve(*args):
        plan = solve(*args)
        # Meanwhile another worker stored a plan for the same day.
        DayPlan.objects.create(department_id=department, date=dt.date(2026, 11, 23), version=1, reason="other",
                               solver="x", seconds=1, travel_s=0)
        return plan

    monkeypatch.setattr(day_plans, "_solve", slow_solve)
    with pytest.raises(PlanSuperseded):
        day_plan_make(department_id=department, now=MONDAY_9, seconds=0.5)
    assert list(DayPlan.objects.values_list("reason", flat=True)) == ["other"]


def test_an_urgent_job_replans_only_the_nearest_crews_and_keeps_the_others_routes(catalogue, report):
    crews = [crew_at(f"c{n}", n * 4000) for n in range(4)]
    open_work(report, [n * 4000 + dx for n in range(4) for dx in (300, 700)])
    first = day_plan_make(department_id=crews[0].department_id, now=MONDAY_9, seconds=1)
    [urgent] = open_work(report, [8100])  # by crew c2
    WorkOrder.objects.filter(pk=urgent.pk).update(priority=1)
    second = day_plan_insert_urgent(work_order_id=urgent.pk, crews=1, now=MONDAY_9, seconds=0.5)
    assert second.version == first.version + 1 and second.reason == f"urgent WO-{urgent.pk}"
    assert second.stops.get(work_order=urgent).crew_id == crews[2].pk
    for crew in (crews[0], crews[1], crews[3]):  # untouched: the same stops at the same times
        before = list(first.stops.filter(crew=crew).values_list("work_order_id", "sequence", "start_at"))
        after = list(second.stops.filter(crew=crew).values_list("work_order_id", "sequence", "start_at"))
        assert before == after and before
    assert second.stops.filter(crew=crews[2]).count() == first.stops.filter(crew=crews[2]).count() + 1


def test_the_crew_sees_its_plan_and_dispatchers_ask_for_a_new_one(catalogue, report, client, django_user_model,
                                                                    monkeypatch):
    from workorders.models import DepartmentRole

    crew = crew_at("solo", 0)
    worker = django_user_model.objects.create_user("wes")
    crew.members.add(worker)
    work = open_work(report, [100, 400])
    day_plan_make(department_id=crew.department_id, now=MONDAY_9, seconds=0.5)
    client.force_login(worker)
    body = client.get(f"/api/crews/{crew.pk}/plan", {"date": "2026-11-23"}).json()
    assert body["plan"]["version"] == 1
    assert sorted(f["id"] for f in body["features"]) == sorted(w.pk for w in work)
    assert [f["properties"]["sequence"] for f in body["features"]] == [1, 2]
    assert client.get(f"/api/crews/{crew.pk}/plan", {"date": "soon"}).status_code == 400
    assert client.post("/api/departments/street-lighting/day-plans", {},
                       content_type="application/json").status_code == 403  # crews do not plan
    dispatcher = django_user_model.objects.create_user("dana")
    DepartmentRole.objects.create(user=dispatcher, department=crew.department, role="dispatcher")
    sent = []
    monkeypatch.setattr("fieldsvc.celery.enqueue", lambda name, **kw: sent.append((name, kw)) or True)
    client.force_login(dispatcher)
    answer = client.post("/api/departments/street-lighting/day-plans", {"date": "2026-11-24", "seconds": 5},
                         content_type="application/json")
    assert answer.status_code == 202
    assert sent == [("workorders.tasks.day_plan_make_task",
                     {"department_id": crew.department_id, "date": "2026-11-24", "seconds": 5.0})]
    assert client.post("/api/departments/nowhere/day-plans", {}, content_type="application/json").status_code == 404
