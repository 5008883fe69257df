"""A dispatcher's triage of requests: reclassify to another service, merge a duplicate into its original, and
make a work order for a request that has none.

Each runs in one transaction under row locks (requests in id order, then the work order), refuses with a
machine-readable code (TransitionRefused, nothing written) and leaves a history note saying who and why.
Work orders are changed through workorders/work.py, so their records and tile invalidation stay in one place.
"""

from django.db import transaction
from django.utils import timezone

from gis.audit.services import audit_record, one_action
from workorders import locks, work
from workorders.models import (
    DetailedStatus,
    Follower,
    NoteKind,
    RequestNote,
    RequestStatus,
    Service,
    ServiceRequest,
    WorkOrder,
    WorkOrderEvent,
)
from workorders.models import WorkOrderStatus as S
from workorders.services import request_status_change
from workorders.work import TransitionRefused

# Work no crew has started or been given: its service and department may still change.
NOT_STARTED = (S.NEW, S.TRIAGED, S.READY, S.REOPENED)


def _request_locked(pk: int) -> ServiceRequest:
    found = (ServiceRequest.objects.select_for_update(of=("self",)).select_related("service", "link")
             .filter(pk=pk).first())
    if found is None:
        raise TransitionRefused("request_unknown", f"no request {pk}")
    return found


def request_reclassify(*, request_id: int, service: Service, actor=None, actor_label: str = "",
                       note: str = "") -> ServiceRequest:
    """File an open request under another service (and that service's department). A work order carrying only
    this request and not yet started follows: service, department, title and SLA due time."""
    label = actor_label or (actor.get_username() if actor is not None else work.SYSTEM)
    now = timezone.now()
    with transaction.atomic():
        request = _request_locked(request_id)
        if request.status != RequestStatus.OPEN:
            raise TransitionRefused("request_closed", f"request {request.reference} is closed")
        if request.service_id == service.pk:
            raise TransitionRefused("same_service", f"request {request.reference} is already {service.code}")
        if service.informational or not service.active:
            raise TransitionRefused("service_not_dispatchable", f"{service.code} takes no reports to work on")
        wo = locks.work_order_locked(request.work_order_id) if request.work_order_id else None
        if wo is not None:
            if wo.status not in NOT_STARTED:
                raise TransitionRefused("work_started", f"work order {wo.pk} is {wo.status}: reclassify before "
                                                        "a crew has it")
            if wo.requests.exclude(pk=request.pk).exists():
                raise TransitionRefused("work_order_shared", f"work order {wo.pk} carries other requests too")
        before = request.service
        request.service, request.department_id = service, service.department_id
        request.save(update_fields=["service", "department", "updated_at"])
        said = f"Reclassified from {before.name} to {service.name}" + (f": {note}" if note.strip() else "")
        RequestNote.objects.create(request=request, created_at=now, kind=NoteKind.ACTIVITY, status=request.status,
                                   detailed_status=request.detailed_status, description=said, author=label)
        if wo is not None:
            _work_order_follows(wo, request, service, now=now, label=label, actor=actor, said=said)
        audit_record(action="request.reclassify", actor=actor, object_type="service_request", object_id=request.pk,
                     department_id=before.department_id, summary=said, before={"service": before.code},
                     after={"service": service.code, "department_id": service.department_id,
                            "work_order": wo.pk if wo else None})
    return request


def _work_order_follows(wo: WorkOrder, request: ServiceRequest, service: Service, *, now, label: str, actor,
                        said: str) -> None:
    wo.service, wo.department_id = service, service.department_id
    wo.title = f"{service.name}: {request.address_string or request.reference}"[:300]
    target = work.sla_target(service=service, priority=wo.priority, department_id=service.department_id)
    if target is not None:
        hours, clock, warning = target
        wo.sla_hours, wo.sla_clock = hours, clock
        wo.warn_at, wo.due_at = work.sla_times(hours, clock, warning, request.requested_at, service.department_id)
    else:
        wo.sla_hours = wo.warn_at = wo.due_at = None
        wo.sla_clock = ""
    wo.version += 1
    wo.save()
    for task in wo.tasks.filter(status="open").select_related("asset"):
        what = task.asset.external_id if task.asset_id else (request.address_string or request.reference)
        task.description = f"{service.name} at {what}"[:500]  # as work._attach words it
        task.estimated_minutes, task.required_skills = service.task_minutes, service.task_skills
        task.save(update_fields=["description", "estimated_minutes", "required_skills"])
    ServiceRequest.objects.filter(pk=request.pk).update(expected_at=wo.due_at)
    WorkOrderEvent.objects.create(work_order=wo, at=now, from_status=wo.status, to_status=wo.status, actor=actor,
                                  actor_label=label, note=said)


def request_merge(*, request_id: int, into_id: int, actor=None, actor_label: str = "") -> ServiceRequest:
    """File a request as a duplicate of another open one (of its original, if that is itself a duplicate):
    closed as duplicate (its followers told), its followers following the original, and its own work order,
    if it carried nothing else and is not done, cancelled."""
    label = actor_label or (actor.get_username() if actor is not None else work.SYSTEM)
    now = timezone.now()
    with transaction.atomic():
        target = ServiceRequest.objects.filter(pk=into_id).values_list("pk", "duplicate_of_id").first()
        if target is None:
            raise TransitionRefused("request_unknown", f"no request {into_id}")
        original_id = target[1] or target[0]
        if original_id == request_id:
            raise TransitionRefused("same_request", "a request cannot be a duplicate of itself")
        first, second = sorted((request_id, original_id))  # locks in id order: two merges never deadlock
        locked = {first: _request_locked(first), second: _request_locked(second)}
        request, original = locked[request_id], locked[original_id]
        if request.status != RequestStatus.OPEN:
            raise TransitionRefused("request_closed", f"request {request.reference} is closed")
        if original.status != RequestStatus.OPEN:
            raise TransitionRefused("original_closed", f"request {original.reference} is closed")
        wo_id = request.work_order_id if request.work_order_id != original.work_order_id else None
        request.duplicate_of_id = original.pk
        request.work_order_id = None if wo_id else request.work_order_id
        request.save(update_fields=["duplicate_of", "work_order", "updated_at"])
        if wo_id is not None:
            with one_action():  # the merge is recorded once, below
                _cancel_if_empty(wo_id, note=f"{request.reference} is a duplicate of {original.reference}",
                                 actor=actor, label=label)
        audit_record(action="request.merge", actor=actor, object_type="service_request", object_id=request.pk,
                     department_id=request.department_id, summary=f"{request.reference} -> {original.reference}",
                     after={"duplicate_of": original.pk, "cancelled_work_order": wo_id})
        for follower in Follower.objects.filter(request=request):  # they hear when the original is done
            same = {"email": follower.email} if follower.email else {"email": "", "phone": follower.phone}
            Follower.objects.get_or_create(request=original, **same, defaults={
                "phone": follower.phone, "locale": follower.locale, "via": "duplicate"})
        RequestNote.objects.create(request=original, created_at=now, kind=NoteKind.ACTIVITY,
                                   status=original.status, detailed_status=original.detailed_status,
                                   description=f"Reported again ({request.reference})", author=label)
        request_status_change(request=request, detailed_status=DetailedStatus.DUPLICATE, author=label, at=now,
                              description=f"Already reported as {original.reference}; we will tell you when it is "
                                          "fixed.")
    return ServiceRequest.objects.get(pk=request_id)


def _cancel_if_empty(wo_id: int, *, note: str, actor, label: str) -> None:
    wo = locks.work_order_locked(wo_id)
    if wo.status in (S.COMPLETED, S.CLOSED, S.CANCELLED) or wo.requests.exists():
        return
    work.work_order_transition(work_order_id=wo.pk, to=S.CANCELLED, actor=actor, actor_label=label, note=note)


def request_work_order_create(*, request_id: int, actor=None, actor_label: str = "") -> WorkOrder:
    """A work order for an open request that has none (its service makes none by itself, or a dispatcher
    wants one now): ready for dispatch, with the service's SLA from the request's time."""
    label = actor_label or (actor.get_username() if actor is not None else work.SYSTEM)
    with transaction.atomic():
        request = _request_locked(request_id)
        if request.status != RequestStatus.OPEN:
            raise TransitionRefused("request_closed", f"request {request.reference} is closed")
        if request.work_order_id is not None:
            raise TransitionRefused("has_work_order", f"request {request.reference} is on work order "
                                                      f"{request.work_order_id}")
        made = work.work_order_create(requests=[request], actor=actor, actor_label=label, status=S.READY)
        audit_record(action="work_order.create", actor=actor, object_type="work_order", object_id=made.pk,
                     department_id=made.department_id, summary=f"for request {request.reference}",
                     after={"request": request.pk, "status": made.status})
        return made
