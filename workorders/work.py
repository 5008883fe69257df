"""Work orders: made from routed requests, moved through the state machine, closing their requests.

The core for work orders (interfaces call these): generation after linking, attaching requests,
transitions with their record (who, when, where, why), the SLA due time, and what a transition means
for the requests it carries (Open311 status, status_notes, expected_datetime; followers told).
"""

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from fieldsvc.celery import enqueue
from gis.audit.services import audit_record, one_action
from gis.spatial import queries
from workorders import locks, sla, states
from workorders.models import (
    CLOSED_DETAILED,
    DayPlan,
    DetailedStatus,
    Holiday,
    LinkState,
    Resolution,
    ServiceRequest,
    SlaClock,
    SlaPolicy,
    TaskStatus,
    WorkCalendar,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderMode,
    WorkOrderTask,
)
from workorders.models import WorkOrderStatus as S
from workorders.services import request_status_change

log = logging.getLogger(__name__)
SYSTEM = "system"


class TransitionRefused(Exception):
    """An illegal or incomplete move: nothing was written. ``code`` is machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- Service levels -----------------------------------------------------------------------------

def work_week(department_id: int) -> sla.Week | None:
    """The department's calendar (else the default one) with its holidays; None if there is none."""
    calendar = (WorkCalendar.objects.filter(department_id=department_id).first()
                or WorkCalendar.objects.filter(department__isnull=True).first())
    if calendar is None:
        return None
    holidays = Holiday.objects.filter(calendar=calendar).values_list("date", flat=True)
    return sla.week_parse(calendar.week, zone=calendar.time_zone, holidays=holidays)


def sla_target(*, service, priority: int, department_id: int) -> tuple[float, str, float] | None:
    """(hours, clock, warning fraction) for a service at a priority: its most specific policy, else the
    service's sla_hours in calendar hours; None without either."""
    policies = {p.priority: p for p in SlaPolicy.objects.filter(service=service)}
    policy = policies.get(priority) or policies.get(None)
    if policy is not None:
        return policy.hours, policy.clock, policy.warning_fraction
    if service.sla_hours:
        return service.sla_hours, SlaClock.CALENDAR, 0.75
    return None


def sla_times(hours: float, clock: str, warning: float, start: dt.datetime,
               department_id: int) -> tuple[dt.datetime, dt.datetime]:
    """(warn_at, due_at) for an SLA of ``hours`` on ``clock`` from ``start`` (business hours: the department's week)."""
    week = work_week(department_id) if clock == SlaClock.BUSINESS else None
    if clock == SlaClock.BUSINESS and week is None:
        log.warning("no work calendar for department %s: business-hours SLA counted in calendar hours",
                    department_id)
    return sla.due_at(start, hours * warning, week=week), sla.due_at(start, hours, week=week)


# --- Generation ---------------------------------------------------------------------------------

def work_orders_generate(*, request_ids: list[int] | None = None, limit: int = 5000) -> int:
    """Give every open, linked request of a dispatchable service a work order; returns how many requests
    got one. A report near an open, not yet started work order of the same service joins it (a row of
    dark streetlights is one job); others get a new one, ready for dispatch or waiting for triage as
    the service says. Idempotent: a request with a work order is left alone."""
    pending = (ServiceRequest.objects.filter(status="open", work_order__isnull=True, link__state=LinkState.LINKED,
                                             service__informational=False)
               .exclude(service__work_order_mode=WorkOrderMode.NONE)
               .select_related("service", "link").order_by("requested_at", "id"))
    if request_ids is not None:
        pending = pending.filter(pk__in=request_ids)
    done = 0
    for request in pending[:limit]:
        with transaction.atomic():
            # Another worker may have given it one since the query: take it only if it still has none.
            locked = ServiceRequest.objects.select_for_update().filter(pk=request.pk, work_order__isnull=True).first()
            if locked is None:
                continue
            joined = _open_work_order_near(request)
            if joined is not None:
                work_order_attach(work_order=joined, requests=[request], actor_label=f"{SYSTEM}: grouped")
            else:
                work_order_create(requests=[request], actor_label=f"{SYSTEM}: from request {request.reference}")
            done += 1
    return done


JOINABLE = (S.NEW, S.TRIAGED, S.READY, S.SCHEDULED, S.REOPENED)


def _open_work_order_near(request: ServiceRequest) -> WorkOrder | None:
    """The open, not yet started work order of the same service carrying a report within the group
    distance of this one (so a row of lamps chains into one job)."""
    radius_m = settings.FIELDSVC_WORK_ORDER_GROUP_M
    if request.geom is None or radius_m <= 0:
        return None
    found = queries.nearest_within(
        table=ServiceRequest._meta.db_table, columns=("work_order_id",), x=request.geom.x, y=request.geom.y,
        radius_m=radius_m, where=f"service_id = %s AND work_order_id IN (SELECT id FROM {WorkOrder._meta.db_table} "
                                 "WHERE service_id = %s AND status = ANY(%s))",
        params=[request.service_id, request.service_id, [str(s) for s in JOINABLE]])
    return WorkOrder.objects.get(pk=found[0]) if found else None


def work_order_create(*, requests: list[ServiceRequest], actor_label: str, actor=None,
                      status: str | None = None) -> WorkOrder:
    """A work order for these requests (the first one's service, department and place), with its SLA due
    time from the earliest report, one task per linked asset, and its first event."""
    first = requests[0]
    priority = min((r.link.priority for r in requests if getattr(r, "link", None)), default=3)
    if status is None:
        status = S.READY if first.service.work_order_mode == WorkOrderMode.AUTO else S.NEW
    now = timezone.now()
    with transaction.atomic():
        title = f"{first.service.name}: {first.address_string or first.reference}"[:300]
        work_order = WorkOrder(status=status, department_id=first.department_id, service_id=first.service_id,
                               priority=priority, title=title, location=first.geom, district_id=first.district_id)
        target = sla_target(service=first.service, priority=priority, department_id=first.department_id)
        if target is not None:
            hours, clock, warning = target
            start = min(r.requested_at for r in requests)
            work_order.sla_hours, work_order.sla_clock = hours, clock
            work_order.warn_at, work_order.due_at = sla_times(hours, clock, warning, start, first.department_id)
        work_order.save()
        WorkOrderEvent.objects.create(work_order=work_order, at=now, from_status="", to_status=status,
                                      actor=actor, actor_label=actor_label, note="created")
        _attach(work_order, requests, now)
        if priority == 1 and DayPlan.objects.filter(department_id=work_order.department_id,
                                                    date=timezone.localdate(now)).exists():
            # Urgent work changes today's plan at once: the nearest crews are planned again.
            transaction.on_commit(partial(enqueue, "workorders.tasks.day_plan_insert_urgent_task",
                                          work_order_id=work_order.pk))
    return work_order


def work_order_attach(*, work_order: WorkOrder, requests: list[ServiceRequest], actor_label: str,
                      actor=None) -> WorkOrder:
    """Carry more requests (duplicates, neighbours) on a work order that is not done."""
    now = timezone.now()
    with transaction.atomic():
        locked = locks.work_order_locked(work_order.pk)
        if locked.status in states.DONE:
            raise TransitionRefused("work_order_done", f"work order {locked.pk} is {locked.status}")
        _attach(locked, requests, now)
        WorkOrderEvent.objects.create(work_order=locked, at=now, from_status=locked.status, to_status=locked.status,
                                      actor=actor, actor_label=actor_label,
                                      note="added " + ", ".join(r.reference for r in requests))
    return locked


def _attach(work_order: WorkOrder, requests: list[ServiceRequest], now: dt.datetime) -> None:
    ServiceRequest.objects.filter(pk__in=[r.pk for r in requests]).update(work_order=work_order, updated_at=now,
                                                                          expected_at=work_order.due_at)
    have = set(work_order.tasks.values_list("asset_id", flat=True))
    service = work_order.service
    tasks, sequence = [], work_order.tasks.count()
    for request in requests:
        link = getattr(request, "link", None)
        asset_id = link.asset_id if link is not None else None
        if asset_id in have:
            continue
        have.add(asset_id)
        sequence += 1
        what = link.asset.external_id if asset_id else (request.address_string or request.reference)
        tasks.append(WorkOrderTask(work_order=work_order, sequence=sequence, asset_id=asset_id,
                                   description=f"{service.name} at {what}"[:500],
                                   estimated_minutes=service.task_minutes, required_skills=service.task_skills))
    WorkOrderTask.objects.bulk_create(tasks)


# --- Transitions --------------------------------------------------------------------------------

def work_order_transition(*, work_order_id: int, to: str, actor=None, actor_label: str = "", note: str = "",
                          crew_id: int | None = None, scheduled_start: dt.datetime | None = None,
                          hold_reason: str = "", resolution: str = "", position: Point | None = None,
                          at: dt.datetime | None = None, expected_version: int | None = None,
                          device: dict | None = None) -> WorkOrder:
    """Move a work order to ``to``; refused (TransitionRefused, nothing written) when the table forbids it
    or something it needs is missing, or when ``expected_version`` is stale. Records the event; the
    requests it carries follow (Open311 status and notes, followers told). ``position``: the device's,
    storage CRS; ``device``: what an offline tablet adds to the event (device_at, received_at,
    client_id, device_id)."""
    at = at or timezone.now()
    label = actor_label or (actor.get_username() if actor is not None else SYSTEM)
    with transaction.atomic():
        wo = locks.work_order_locked(work_order_id)
        if expected_version is not None and wo.version != expected_version:
            raise TransitionRefused("version_conflict", f"work order {wo.pk} is at version {wo.version}, "
                                                        f"not {expected_version}: reload it")
        crew = crew_id if crew_id is not None else wo.crew_id
        refusal = states.check(wo.status, states.Move(
            to=to, crew_id=crew, scheduled=scheduled_start is not None or wo.scheduled_start is not None,
            hold_reason=hold_reason, resolution=resolution, note=note))
        if refusal is not None:
            raise TransitionRefused(refusal.code, refusal.message)
        if to in states.ASSIGNED and crew != wo.crew_id:
            _crew_can_take(wo, crew)
        previous = wo.status
        _apply(wo, to, at=at, crew_id=crew, scheduled_start=scheduled_start, hold_reason=hold_reason,
               resolution=resolution)
        WorkOrderEvent.objects.create(work_order=wo, at=at, from_status=previous, to_status=to, actor=actor,
                                      actor_label=label, position=position, note=note, **(device or {}))
        audit_record(action="work_order.transition", actor=actor, object_type="work_order", object_id=wo.pk,
                     department_id=wo.department_id, summary=f"{previous} -> {to}" + (f": {note}" if note else ""),
                     before={"status": previous}, after={"status": to, "crew": crew, "version": wo.version})
        _requests_follow(wo, note=note, at=at, author=label)
        if to == S.COMPLETED and wo.service.close_on_complete:
            _apply(wo, S.CLOSED, at=at, crew_id=crew, scheduled_start=None, hold_reason="", resolution=resolution)
            WorkOrderEvent.objects.create(work_order=wo, at=at, from_status=S.COMPLETED, to_status=S.CLOSED,
                                          actor_label=f"{SYSTEM}: closed on completion ({wo.service.code})")
            _requests_follow(wo, note=note, at=at, author=label)
    return wo


def _crew_can_take(wo: WorkOrder, crew_id: int) -> None:
    crew = locks.crew_locked(crew_id)
    if crew is None or not crew.active:
        raise TransitionRefused("crew_unknown", f"no active crew {crew_id}")
    if crew.department_id != wo.department_id:
        raise TransitionRefused("crew_department", f"crew {crew.code} works for another department")
    load = WorkOrder.objects.filter(crew_id=crew_id, status__in=states.ASSIGNED).exclude(pk=wo.pk).count()
    if load >= crew.max_open_work_orders:
        raise TransitionRefused("crew_full", f"crew {crew.code} already has {load} work orders assigned "
                                             f"(at most {crew.max_open_work_orders})")


def _apply(wo: WorkOrder, to: str, *, at: dt.datetime, crew_id, scheduled_start, hold_reason: str,
           resolution: str) -> None:
    previous = wo.status
    wo.status, wo.crew_id, wo.version = to, crew_id, wo.version + 1
    if scheduled_start is not None:
        wo.scheduled_start = scheduled_start
    if to == S.ON_HOLD:
        wo.hold_reason, wo.held_from = hold_reason, previous
    elif previous == S.ON_HOLD:
        wo.hold_reason = wo.held_from = ""
    if to == S.READY:  # back in the queue: no crew holds it
        wo.crew_id, wo.scheduled_start = None, None
    if to == S.IN_PROGRESS and wo.actual_start is None:
        wo.actual_start = at
    if to in (S.COMPLETED, S.CANCELLED):
        wo.actual_end = wo.actual_end or at
        wo.resolution = resolution
        wo.tasks.filter(status=TaskStatus.OPEN).update(
            status=TaskStatus.DONE if to == S.COMPLETED else TaskStatus.CANCELLED, done_at=at)
    if to in (S.CLOSED, S.CANCELLED):
        wo.closed_at = at
    if to == S.REOPENED:
        wo.closed_at = wo.actual_end = None
        wo.resolution = ""
        wo.tasks.exclude(status=TaskStatus.OPEN).update(status=TaskStatus.OPEN, done_at=None)
    wo.save()


# What the requests show for each work order status; absent: they keep what they show.
_REQUEST_STATUS = {
    S.SCHEDULED: DetailedStatus.ACTION_SCHEDULED,
    S.DISPATCHED: DetailedStatus.IN_PROGRESS,
    S.EN_ROUTE: DetailedStatus.IN_PROGRESS,
    S.IN_PROGRESS: DetailedStatus.IN_PROGRESS,
    S.CANCELLED: DetailedStatus.NO_FURTHER_ACTION,
    S.REOPENED: DetailedStatus.REOPENED,
}
_CLOSED_AS = {
    Resolution.FIXED: DetailedStatus.FIXED,
    Resolution.NO_FAULT_FOUND: DetailedStatus.NO_FURTHER_ACTION,
    Resolution.NOT_CITY: DetailedStatus.NOT_RESPONSIBLE,
}
_SAYS = {
    S.SCHEDULED: "The work is scheduled.",
    S.DISPATCHED: "A crew has been sent.",
    S.IN_PROGRESS: "A crew is working on it.",
    S.CLOSED: "The work is done.",
    S.CANCELLED: "No work will be done.",
    S.REOPENED: "The work has been reopened.",
}


def _requests_follow(wo: WorkOrder, *, note: str, at: dt.datetime, author: str) -> None:
    """The carried requests show the work order's progress; closing it closes them (followers told)."""
    target = _CLOSED_AS.get(wo.resolution, DetailedStatus.CLOSED) if wo.status == S.CLOSED else \
        _REQUEST_STATUS.get(wo.status)
    if target is None:
        return
    text = note.strip() or _SAYS.get(wo.status, "")
    for request in wo.requests.all():
        if request.detailed_status == target:
            continue
        if request.status == "closed" and target not in CLOSED_DETAILED and wo.status != S.REOPENED:
            continue  # a request closed on its own (a duplicate) is not reopened by progress
        request_status_change(request=request, detailed_status=target, description=text, author=author, at=at)


def work_order_assign(*, work_order_id: int, crew_id: int, actor=None, actor_label: str = "", note: str = "",
                      expected_version: int | None = None) -> WorkOrder:
    """Dispatch to a crew; a work order another crew holds (scheduled, dispatched, en route) is taken back
    to ready and given to this one in the same transaction (a reassignment: both steps recorded)."""
    with transaction.atomic():
        wo = locks.work_order_locked(work_order_id)
        if expected_version is not None and wo.version != expected_version:
            raise TransitionRefused("version_conflict", f"work order {wo.pk} is at version {wo.version}, "
                                                        f"not {expected_version}: reload it")
        if wo.crew_id == crew_id and wo.status in (S.DISPATCHED, S.EN_ROUTE):
            return wo
        before = {"status": wo.status, "crew": wo.crew_id}
        with one_action():  # one audit row for the assignment, not one per step
            if wo.status in (S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE):
                work_order_transition(work_order_id=wo.pk, to=S.READY, actor=actor, actor_label=actor_label,
                                      note=note or f"reassigned from crew {wo.crew_id}")
            moved = work_order_transition(work_order_id=wo.pk, to=S.DISPATCHED, crew_id=crew_id, actor=actor,
                                          actor_label=actor_label, note=note)
        audit_record(action="work_order.assign", actor=actor, object_type="work_order", object_id=wo.pk,
                     department_id=wo.department_id, summary=f"crew {before['crew']} -> {crew_id}", before=before,
                     after={"status": moved.status, "crew": crew_id, "version": moved.version})
        return moved


def work_orders_autodispatch(*, limit: int = 100, now: dt.datetime | None = None) -> list[tuple[int, int]]:
    """Give ready work of auto-dispatch services to the best crew now, most urgent first; returns the
    (work order, crew) pairs made. Each is taken with SKIP LOCKED and assigned through the same locked
    transition a dispatcher uses, so a dispatcher acting at the same moment wins or loses cleanly.
    Work no crew can take now stays ready (tried again next run)."""
    from workorders.crews import crews_best_for

    made: list[tuple[int, int]] = []
    passed: set[int] = set()
    while len(made) + len(passed) < limit:
        with transaction.atomic():
            wo = locks.work_order_next_ready(exclude=passed)
            if wo is None:
                break
            for candidate in crews_best_for(work_order=wo, now=now):
                try:
                    work_order_transition(work_order_id=wo.pk, to=S.DISPATCHED, crew_id=candidate.crew.id,
                                          actor_label=f"{SYSTEM}: automatic dispatch", at=now)
                except TransitionRefused:
                    continue  # the crew filled up since it was ranked: try the next
                made.append((wo.pk, candidate.crew.id))
                break
            else:
                passed.add(wo.pk)
    return made
