"""Work orders from routed requests, transitions with their record, and what the requests show."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.core import mail

from gis import crs
from gis.models import Department
from workorders.models import (
    Crew,
    Holiday,
    Notification,
    RequestStatus,
    Service,
    ServiceRequest,
    SlaPolicy,
    WorkCalendar,
    WorkOrder,
    WorkOrderEvent,
)
from workorders.models import WorkOrderStatus as S
from workorders.work import TransitionRefused, work_order_transition, work_orders_generate

pytestmark = pytest.mark.django_db


def test_a_routed_request_gets_a_ready_work_order_with_a_task_on_its_lamp_and_its_due_time(catalogue, report):
    request = report(dx=2)
    assert work_orders_generate(request_ids=[request.pk]) == 1
    request.refresh_from_db()
    wo = request.work_order
    assert (wo.status, wo.department.code, wo.service.code, wo.priority) == (S.READY, "street-lighting",
                                                                             "streetlight-outage", 3)
    assert wo.due_at == request.requested_at + dt.timedelta(hours=72) == request.expected_at
    assert wo.warn_at == request.requested_at + dt.timedelta(hours=54)
    [task] = wo.tasks.all()
    assert (task.asset.external_id, task.estimated_minutes, task.required_skills) == ("L-0", 45, ["bucket-truck"])
    [event] = wo.events.all()
    assert (event.from_status, event.to_status, event.actor_label) == ("", S.READY,
                                                                      f"system: from request {request.reference}")
    assert work_orders_generate(request_ids=[request.pk]) == 0  # idempotent
    assert WorkOrder.objects.count() == 1


def test_triage_services_wait_as_new_and_inquiries_get_none(catalogue, report):
    pothole = report("pothole", dx=300)
    question = report("trash-schedule", dx=900)
    assert work_orders_generate() == 1
    assert ServiceRequest.objects.get(pk=pothole.pk).work_order.status == S.NEW
    assert ServiceRequest.objects.get(pk=question.pk).work_order is None


def test_a_row_of_dark_lamps_is_one_work_order_with_a_task_per_lamp(catalogue, report):
    first, second, third = report(dx=1), report(dx=41), report(dx=82)
    far = report(dx=601)
    assert work_orders_generate() == 4
    wo = ServiceRequest.objects.get(pk=first.pk).work_order
    assert set(wo.requests.values_list("pk", flat=True)) == {first.pk, second.pk, third.pk}
    assert list(wo.tasks.values_list("asset__external_id", flat=True)) == ["L-0", "L-1", "L-2"]
    assert ServiceRequest.objects.get(pk=far.pk).work_order != wo
    assert wo.events.filter(note__startswith="added").count() == 2


def test_the_whole_life_of_a_work_order_is_recorded_and_the_resident_told(catalogue, report, crew, client):
    request = report(dx=2, email="ana@example.org")
    work_orders_generate()
    wo_id = ServiceRequest.objects.get(pk=request.pk).work_order_id
    at = crs.storage_point(-71.1043, 42.3670)
    steps = [
        dict(to=S.DISPATCHED, crew_id=crew.pk, note="to Lights 1"),
        dict(to=S.EN_ROUTE),
        dict(to=S.IN_PROGRESS, position=Point(*at, srid=crs.storage_srid())),
        dict(to=S.ON_HOLD, hold_reason="waiting_material", note="needs a new ballast"),
        dict(to=S.IN_PROGRESS),
        dict(to=S.COMPLETED, resolution="fixed", note="Lamp replaced."),
    ]
    for step in steps:
        work_order_transition(work_order_id=wo_id, actor_label="dispatcher", **step)
    wo = WorkOrder.objects.get(pk=wo_id)
    assert wo.status == S.CLOSED  # the service closes on completion
    assert wo.actual_start is not None and wo.actual_end is not None and wo.closed_at is not None
    assert wo.hold_reason == "" and wo.resolution == "fixed" and wo.version == 1 + len(steps) + 1
    assert list(wo.events.values_list("from_status", "to_status")) == [
        ("", S.READY), (S.READY, S.DISPATCHED), (S.DISPATCHED, S.EN_ROUTE), (S.EN_ROUTE, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.ON_HOLD), (S.ON_HOLD, S.IN_PROGRESS), (S.IN_PROGRESS, S.COMPLETED),
        (S.COMPLETED, S.CLOSED)]
    arrived = wo.events.get(to_status=S.IN_PROGRESS, from_status=S.EN_ROUTE)
    assert arrived.position is not None and arrived.actor_label == "dispatcher"
    assert wo.tasks.get().status == "done"
    request.refresh_from_db()
    assert (request.status, request.detailed_status, request.status_notes) == (RequestStatus.CLOSED, "fixed",
                                                                               "Lamp replaced.")
    # Open311 shows it, and the follower heard at each step the resident can see.
    body = client.get(f"/open311/v2/requests/{request.pk}.json").json()[0]
    assert (body["status"], body["status_notes"], body["agency_responsible"]) == ("closed", "Lamp replaced.",
                                                                                 "Street Lighting")
    assert body["expected_datetime"] is not None
    sent = list(Notification.objects.filter(follower__request=request).values_list("note__detailed_status",
                                                                                    flat=True))
    assert sent == ["in_progress", "fixed"]


def test_illegal_or_incomplete_moves_are_refused_and_nothing_is_written(catalogue, report, crew):
    request = report(dx=2)
    work_orders_generate()
    wo = ServiceRequest.objects.get(pk=request.pk).work_order
    before = (WorkOrderEvent.objects.count(), wo.version)
    for kwargs, code in [({"to": S.COMPLETED, "resolution": "fixed"}, "not_allowed"),
                         ({"to": S.DISPATCHED}, "crew_required"),
                         ({"to": S.SCHEDULED, "crew_id": crew.pk}, "schedule_required"),
                         ({"to": S.CANCELLED}, "note_required"),
                         ({"to": "done"}, "unknown_status"),
                         ({"to": S.DISPATCHED, "crew_id": crew.pk, "expected_version": 99}, "version_conflict")]:
        with pytest.raises(TransitionRefused) as refused:
            work_order_transition(work_order_id=wo.pk, **kwargs)
        assert refused.value.code == code
    wo.refresh_from_db()
    assert (WorkOrderEvent.objects.count(), wo.version, wo.status, wo.crew_id) == (*before, S.READY, None)
    assert ServiceRequest.objects.get(pk=request.pk).detailed_status == request.detailed_status


def test_verification_before_close_cancel_and_reopen(catalogue, report):
    crew = Crew.objects.create(code="paint", name="Paint", department=Department.objects.get(code="public-works"))
    request = report("graffiti", dx=1200)
    work_orders_generate()
    wo_id = ServiceRequest.objects.get(pk=request.pk).work_order_id
    work_order_transition(work_order_id=wo_id, to=S.DISPATCHED, crew_id=crew.pk)
    work_order_transition(work_order_id=wo_id, to=S.IN_PROGRESS)
    work_order_transition(work_order_id=wo_id, to=S.COMPLETED, resolution="fixed")
    assert WorkOrder.objects.get(pk=wo_id).status == S.COMPLETED
    assert ServiceRequest.objects.get(pk=request.pk).status == "open"  # waits for the supervisor
    work_order_transition(work_order_id=wo_id, to=S.CLOSED, actor_label="supervisor")
    assert ServiceRequest.objects.get(pk=request.pk).detailed_status == "fixed"
    work_order_transition(work_order_id=wo_id, to=S.REOPENED, note="Paint came back.")
    request.refresh_from_db()
    assert (request.status, request.detailed_status) == ("open", "reopened")
    wo = WorkOrder.objects.get(pk=wo_id)
    assert wo.closed_at is None and wo.resolution == "" and wo.tasks.get().status == "open"
    work_order_transition(work_order_id=wo_id, to=S.CANCELLED, note="Private wall: owner notified.")
    request.refresh_from_db()
    assert (request.status, request.detailed_status, request.status_notes) == (
        "closed", "no_further_action", "Private wall: owner notified.")


def test_business_hours_sla_from_the_department_calendar_skips_weekend_and_holiday(catalogue, report):
    service = Service.objects.get(code="pothole")
    SlaPolicy.objects.create(service=service, priority=None, hours=8, clock="business", warning_fraction=0.5)
    calendar = WorkCalendar.objects.create(code="pwd", name="Public Works", department=service.department,
                                           time_zone="America/New_York")
    Holiday.objects.create(calendar=calendar, date=dt.date(2026, 11, 23), name="Test holiday")
    friday_2pm = dt.datetime(2026, 11, 20, 14, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    request = report("pothole", dx=300, requested_at=friday_2pm)
    work_orders_generate()
    wo = ServiceRequest.objects.get(pk=request.pk).work_order
    eastern = dt.timezone(dt.timedelta(hours=-5))
    assert (wo.sla_hours, wo.sla_clock) == (8, "business")
    assert wo.due_at == dt.datetime(2026, 11, 24, 13, 30, tzinfo=eastern)  # Fri 1.5 h, Mon holiday, Tue 6.5 h
    assert wo.warn_at == dt.datetime(2026, 11, 24, 9, 30, tzinfo=eastern)  # 4 h: Fri 1.5 + Tue 2.5
    assert mail.outbox == []


def test_the_admin_shows_a_work_order_with_its_tasks_requests_and_history(catalogue, report, admin_client):
    request = report(dx=2)
    work_orders_generate()
    wo = ServiceRequest.objects.get(pk=request.pk).work_order
    page = admin_client.get(f"/admin/workorders/workorder/{wo.pk}/change/")
    assert page.status_code == 200
    assert request.reference.encode() in page.content and b"L-0" in page.content
    assert b"system: from request" in page.content
