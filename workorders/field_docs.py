"""What a crew's tablet holds: the crews a user works in, the work in their scope, and each work order
as one self-contained document (requests, assets, utilities beneath, routing, plan, history, notes)."""

import datetime as dt

import numpy as np
from django.conf import settings
from django.db.models import Prefetch, Q
from django.utils import timezone

from gis import crs
from workorders import permissions, states
from workorders.models import (
    ConflictStatus,
    Crew,
    DayPlan,
    PlanStop,
    ServiceRequest,
    WorkOrder,
    WorkOrderConflict,
    WorkOrderTask,
)


def crews_of(user) -> list[int]:
    """The active crews the user is a member of."""
    if not user.is_authenticated:
        return []
    return list(Crew.objects.filter(members=user, active=True).values_list("pk", flat=True))


def in_scope(crew_ids: list[int], *, now: dt.datetime | None = None):
    """The crews' work a tablet keeps: open work they hold, and what they finished lately."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.FIELDSVC_FIELD_KEEP_DONE_H)
    return WorkOrder.objects.filter(crew_id__in=crew_ids).filter(
        ~Q(status__in=[str(s) for s in states.DONE]) | Q(actual_end__gte=cutoff) | Q(closed_at__gte=cutoff))


def _with_everything(queryset):
    requests = ServiceRequest.objects.select_related("service", "link", "link__department").prefetch_related("media")
    return queryset.select_related("department", "service", "crew").prefetch_related(
        Prefetch("tasks", queryset=WorkOrderTask.objects.select_related("asset", "asset__asset_type")),
        Prefetch("requests", queryset=requests.order_by("requested_at", "id")),
        "notes", "materials", "photos", "events",
        Prefetch("conflicts", queryset=WorkOrderConflict.objects.filter(status=ConflictStatus.OPEN),
                 to_attr="open_conflict_rows"))




def _plan_stops(work_order_ids: list[int]) -> dict[int, PlanStop]:
    """Each work order's stop in today's current plan of its department."""
    today = timezone.localdate()
    current = {}
    for plan in DayPlan.objects.filter(date=today).order_by("department_id", "-version").distinct("department_id"):
        current[plan.department_id] = plan.pk
    stops = PlanStop.objects.filter(plan_id__in=current.values(), work_order_id__in=work_order_ids)
    return {s.work_order_id: s for s in stops}


def conflict_json(c: WorkOrderConflict) -> dict:
    return {"id": c.pk, "field": c.field, "theirs": c.theirs, "yours": c.yours, "base_version": c.base_version,
            "author": c.author_label, "device_id": c.device_id, "occurred_at": c.occurred_at,
            "received_at": c.received_at, "status": c.status}


def documents(user, work_order_ids: list[int]) -> dict[int, dict]:
    """The documents of these work orders, by id (missing ids are simply absent)."""
    rows = list(_with_everything(WorkOrder.objects.filter(pk__in=work_order_ids)))
    stops = _plan_stops([wo.pk for wo in rows])
    may = _Mover(user)
    return {wo.pk: _document(wo, stops.get(wo.pk), may) for wo in rows}


class _Mover:
    """permissions.can_move for many work orders, with the user's roles and crews asked once."""

    def __init__(self, user):
        self.user, self.crews, self.roles = user, set(crews_of(user)), {}

    def next_steps(self, wo: WorkOrder) -> list[str]:
        if wo.department_id not in self.roles:
            self.roles[wo.department_id] = permissions.roles(self.user, wo.department_id)
        held = self.roles[wo.department_id]
        return sorted(to for to in states.ALLOWED[wo.status] if self._may(wo, to, held)
                      and not (to in states.ASSIGNED and wo.crew_id is None))

    def _may(self, wo: WorkOrder, to: str, held: set[str]) -> bool:
        if self.user.is_superuser:
            return True
        if to in permissions.SUPERVISOR_STEPS:
            return "supervisor" in held
        if held & permissions.ASSIGNERS:
            return True
        return to in permissions.FIELD_STEPS and wo.crew_id in self.crews


def _document(wo: WorkOrder, stop: PlanStop | None, may: _Mover) -> dict:
    tasks = list(wo.tasks.all())
    requests = list(wo.requests.all())
    events = list(wo.events.all())
    notes, materials, photos = list(wo.notes.all()), list(wo.materials.all()), list(wo.photos.all())
    points = crs.wgs84_lonlat_list([wo.location]
                     + [t.asset.geom.point_on_surface if t.asset_id and t.asset else None for t in tasks]
                     + [e.position for e in events])
    here, task_points, event_points = points[0], points[1:1 + len(tasks)], points[1 + len(tasks):]
    address = next((r.address_string for r in requests if r.address_string), "")
    return {
        "id": wo.pk, "version": wo.version, "status": wo.status, "title": wo.title, "priority": wo.priority,
        "instructions": wo.instructions, "site_notes": wo.site_notes,
        "department": {"code": wo.department.code, "name": wo.department.name},
        "service": {"code": wo.service.code, "name": wo.service.name},
        "crew": {"id": wo.crew_id, "code": wo.crew.code} if wo.crew_id else None,
        "location": here, "address": address,
        "due_at": wo.due_at, "warn_at": wo.warn_at, "scheduled_start": wo.scheduled_start,
        "actual_start": wo.actual_start, "actual_end": wo.actual_end,
        "hold_reason": wo.hold_reason or None, "resolution": wo.resolution or None,
        "open_conflicts": wo.open_conflicts, "conflicts": [conflict_json(c) for c in wo.open_conflict_rows],
        "next": may.next_steps(wo),
        "plan": {"sequence": stop.sequence, "arrive_at": stop.arrive_at, "start_at": stop.start_at,
                 "end_at": stop.end_at} if stop else None,
        "tasks": [{"id": t.pk, "sequence": t.sequence, "description": t.description, "status": t.status,
                   "condition": t.condition or None, "estimated_minutes": t.estimated_minutes,
                   "asset": {"id": t.asset_id, "type": t.asset.asset_type.code, "external_id": t.asset.external_id,
                             "location": point} if t.asset_id and t.asset else None}
                  for t, point in zip(tasks, task_points, strict=True)],
        "requests": [_request(r) for r in requests],
        "notes": [{"id": str(n.pk), "text": n.text, "author": n.author_label, "occurred_at": n.occurred_at,
                   "received_at": n.received_at} for n in notes],
        "materials": [{"id": str(m.pk), "item": m.item, "quantity": float(m.quantity), "unit": m.unit,
                       "task": m.task_id, "author": m.author_label, "occurred_at": m.occurred_at} for m in materials],
        "photos": [{"id": str(p.pk), "url": f"/api/field/photos/{p.pk}", "taken_at": p.occurred_at,
                    "sha256": p.sha256, "author": p.author_label} for p in photos],
        "history": [{"at": e.at, "device_at": e.device_at, "received_at": e.received_at, "from": e.from_status or None,
                     "to": e.to_status, "by": e.actor_label, "note": e.note, "position": point}
                    for e, point in zip(events, event_points, strict=True)],
    }


def _request(r: ServiceRequest) -> dict:
    link = getattr(r, "link", None)
    return {"id": r.pk, "reference": r.reference, "service": r.service.name, "description": r.description,
            "address": r.address_string, "requested_at": r.requested_at, "status": r.detailed_status,
            "photos": [m.file.url for m in r.media.all()],
            "routing": {"department": link.department.code if link and link.department_id else None,
                        "explanation": link.explanation if link else "",
                        "priority": link.priority if link else None},
            "utilities": link.utilities if link else [],
            "asset_distance_m": link.asset_distance_m if link else None}


def plans(crew_ids: list[int], *, date: dt.date | None = None) -> list[dict]:
    """Each crew's stops today in its department's current plan, with the route as a line from where
    the crew is through them (lon/lat)."""
    from workorders.day_plans import crew_plan

    out = []
    for crew in Crew.objects.filter(pk__in=crew_ids).order_by("code"):
        stops = crew_plan(crew_id=crew.pk, date=date)
        points = crs.wgs84_lonlat_list([crew.last_position or crew.depot]
                                       + [s.work_order.location for s in stops])
        line = [p for p in points if p is not None]
        out.append({"crew": {"id": crew.pk, "code": crew.code}, "date": date or timezone.localdate(),
                    "version": stops[0].plan.version if stops else None,
                    "stops": [{"work_order": s.work_order_id, "sequence": s.sequence, "arrive_at": s.arrive_at,
                               "start_at": s.start_at, "end_at": s.end_at, "title": s.work_order.title,
                               "location": point} for s, point in zip(stops, points[1:], strict=True)],
                    "route": {"type": "LineString", "coordinates": line} if len(line) > 1 else None})
    return out


def map_area(crew_ids: list[int], *, margin_m: float = 400.0) -> list[float] | None:
    """The lon/lat box around the crews' work in scope and their depots, with a margin: the map a tablet
    keeps offline."""
    points = [wo.location for wo in in_scope(crew_ids).only("location") if wo.location is not None]
    points += [c.depot for c in Crew.objects.filter(pk__in=crew_ids) if c.depot is not None]
    if not points:
        return None
    xs, ys = [p.x for p in points], [p.y for p in points]
    corners = _lonlat_box(min(xs) - margin_m, min(ys) - margin_m, max(xs) + margin_m, max(ys) + margin_m)
    return corners


def _lonlat_box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    lonlat = crs.wgs84_points(np.array([[x0, y0], [x1, y1], [x0, y1], [x1, y0]]))
    return [round(float(lonlat[:, 0].min()), 6), round(float(lonlat[:, 1].min()), 6),
            round(float(lonlat[:, 0].max()), 6), round(float(lonlat[:, 1].max()), 6)]
