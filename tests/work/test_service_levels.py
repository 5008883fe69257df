"""The SLA sweeper (each level once, however often it runs) and attainment arithmetic."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core import mail
from django.core.management import call_command

from gis import crs
from gis.models import Department, District
from workorders.models import Crew, EscalationLevel, ServiceRequest, SlaEscalation, WorkOrder
from workorders.models import WorkOrderStatus as S
from workorders.service_levels import sla_attainment, sla_escalate, sla_escalation_notify
from workorders.work import work_order_transition, work_orders_generate

pytestmark = pytest.mark.django_db


def work_order_for(report, **kwargs) -> WorkOrder:
    request = report(**kwargs)
    work_orders_generate(request_ids=[request.pk])
    return ServiceRequest.objects.get(pk=request.pk).work_order


def test_warning_then_breach_each_recorded_once_however_often_the_sweeper_runs(catalogue, report, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    wo = work_order_for(report, dx=2)  # 72 h, warned at 54 h
    start = wo.due_at - dt.timedelta(hours=72)
    assert sla_escalate(now=start + dt.timedelta(hours=50)) == []
    warned = sla_escalate(now=start + dt.timedelta(hours=55))
    assert len(warned) == 1 and sla_escalate(now=start + dt.timedelta(hours=56)) == []
    breached = sla_escalate(now=start + dt.timedelta(hours=73))
    assert len(breached) == 1 and sla_escalate(now=start + dt.timedelta(hours=90)) == []
    levels = list(SlaEscalation.objects.filter(work_order=wo).values_list("level", "due_at"))
    assert levels == [(EscalationLevel.WARNING, wo.warn_at), (EscalationLevel.BREACH, wo.due_at)]
    assert wo.events.filter(actor_label="system: SLA").count() == 2
    # The department hears once per level, even if the send task runs twice (each message carries the lease
    # the sweeper last handed the notice out with: here the 90 h sweep's, for a notice unsent since 55 h).
    for pk in warned + breached + warned:
        lease = SlaEscalation.objects.get(pk=pk).claimed_at
        sla_escalation_notify(escalation_id=pk, lease=lease.isoformat() if lease else None)
    assert [m.subject for m in mail.outbox] == [f"[311] WO-{wo.pk} is close to its due time",
                                                f"[311] WO-{wo.pk} is past its due time"]
    assert mail.outbox[0].to == ["streetlights@example.city"]


def test_finished_work_is_not_escalated(catalogue, report, crew):
    wo = work_order_for(report, dx=2)
    work_order_transition(work_order_id=wo.pk, to=S.DISPATCHED, crew_id=crew.pk)
    work_order_transition(work_order_id=wo.pk, to=S.IN_PROGRESS)
    work_order_transition(work_order_id=wo.pk, to=S.COMPLETED, resolution="fixed")
    assert sla_escalate(now=wo.due_at + dt.timedelta(days=3)) == []


def test_attainment_counts_on_time_late_and_open_overdue_per_group(catalogue, report, crew):
    far_away = MultiPolygon(Polygon.from_bbox((0, 0, 10, 10)), srid=crs.storage_srid())
    back_bay = District.objects.create(kind="neighborhood", name="Back Bay", city="Boston", geom=far_away)
    t0 = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
    on_time = [work_order_for(report, dx=2 + 300 * n, requested_at=t0) for n in range(3)]
    late = work_order_for(report, dx=1500, requested_at=t0)
    still_open = work_order_for(report, dx=1800, requested_at=t0)
    pothole = work_order_for(report, service_code="pothole", dx=2100, requested_at=t0)
    WorkOrder.objects.filter(pk__in=[w.pk for w in on_time[:2]]).update(district=back_bay)
    paint = Crew.objects.create(code="paint", name="Paint", department=Department.objects.get(code="public-works"))
    for wo, hours in [*[(w, 24) for w in on_time], (late, 100), (pothole, 10)]:
        crew_id = paint.pk if wo == pothole else crew.pk
        work_order_transition(work_order_id=wo.pk, to=S.READY if wo == pothole else S.DISPATCHED,
                              crew_id=None if wo == pothole else crew_id)
        if wo == pothole:
            work_order_transition(work_order_id=wo.pk, to=S.DISPATCHED, crew_id=crew_id)
        work_order_transition(work_order_id=wo.pk, to=S.IN_PROGRESS)
        work_order_transition(work_order_id=wo.pk, to=S.COMPLETED, resolution="fixed",
                              at=t0 + dt.timedelta(hours=hours))
    period = dict(since=dt.datetime(2026, 9, 1, tzinfo=dt.UTC), until=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    by_service = {row.key: row for row in sla_attainment(by="service", **period)}
    lights = by_service["Street Light Outage"]
    assert (lights.finished, lights.on_time, lights.open_overdue, lights.percent) == (4, 3, 1, 75.0)
    assert (by_service["Pothole"].finished, by_service["Pothole"].percent) == (1, 100.0)
    by_area = {row.key: row for row in sla_attainment(by="neighbourhood", **period)}
    assert (by_area["Back Bay"].finished, by_area["Back Bay"].on_time) == (2, 2)
    by_department = {row.key: row.percent for row in sla_attainment(by="department", **period)}
    assert by_department == {"Public Works — Streets and Sidewalks": 100.0, "Street Lighting": 75.0}
    assert still_open.status == S.READY
    # A period before any of it finished: nothing finished, the open ones not yet due.
    assert sla_attainment(by="service", since=t0 - dt.timedelta(days=9), until=t0) == []
    out = StringIO()
    call_command("sla_attainment", "--by", "service", "--since", "2026-09-01", "--until", "2026-10-01", stdout=out)
    assert "Street Light Outage\t4\t3\t75.0\t1" in out.getvalue()
