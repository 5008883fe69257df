"""Reads of work orders and crews for the dispatcher API: filtered lists and one work order in full."""

import datetime as dt

from django.contrib.gis.geos import Polygon
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from gis import crs
from gis.spatial import queries
from workorders import states
from workorders.models import Crew, DayPlan, PlanStop, RequestNote, ServiceRequest, WorkOrder, WorkOrderEvent
from workorders.models import WorkOrderStatus as S


def storage_box(bbox: tuple[float, float, float, float]) -> Polygon:
    """A WGS84 lon/lat box as a storage-CRS polygon (its four corners transformed)."""
    minx, miny, maxx, maxy = bbox
    corners = [crs.storage_point(x, y) for x, y in ((minx, miny), (maxx, miny), (maxx, maxy), (minx, maxy))]
    return Polygon([*corners, corners[0]], srid=crs.storage_srid())


def work_orders_list(*, departments: set[int] | None, statuses: list[str] | None = None,
                     department_codes: list[str] | None = None, priorities: list[int] | None = None,
                     overdue: bool | None = None, bbox: tuple[float, float, float, float] | None = None,
                     crew_id: int | None = None, now: dt.datetime | None = None) -> QuerySet:
    """Work orders the caller may see (``departments``; None: all), filtered; most urgent first."""
    qs = WorkOrder.objects.select_related("department", "service", "crew")
    if departments is not None:
        qs = qs.filter(department_id__in=departments)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if department_codes:
        qs = qs.filter(department__code__in=department_codes)
    if priorities:
        qs = qs.filter(priority__in=priorities)
    if crew_id is not None:
        qs = qs.filter(crew_id=crew_id)
    if overdue is not None:
        now = now or timezone.now()
        late = qs.filter(due_at__lt=now).exclude(status__in=list(states.DONE))
        qs = late if overdue else qs.exclude(pk__in=late.values("pk"))
    if bbox is not None:
        qs = queries.in_box(qs, storage_box(bbox), field="location")
    return qs.order_by("priority", "due_at", "id")


def work_order_detail(pk: int) -> WorkOrder | None:
    return (WorkOrder.objects.select_related("department", "service", "crew", "district")
            .prefetch_related("tasks__asset",
                              Prefetch("requests", queryset=ServiceRequest.objects.order_by("requested_at")),
                              Prefetch("events", queryset=WorkOrderEvent.objects.order_by("at", "id")),
                              "escalations")
            .filter(pk=pk).first())


def crews_list(*, departments: set[int] | None, department_codes: list[str] | None = None) -> QuerySet:
    qs = Crew.objects.filter(active=True).select_related("department")
    if departments is not None:
        qs = qs.filter(department_id__in=departments)
    if department_codes:
        qs = qs.filter(department__code__in=department_codes)
    return qs.order_by("code")


# Waiting for a dispatcher: open work no crew holds (assigned work that runs late is queued as overdue).
UNASSIGNED = (S.NEW, S.TRIAGED, S.READY, S.REOPENED, S.ON_HOLD)


def work_orders_list_queue(*, departments: set[int] | None, department_codes: list[str] | None = None,
                           service_codes: list[str] | None = None, now: dt.datetime | None = None,
                           limit: int = 200) -> list[WorkOrder]:
    """The dispatcher's queue: open work with no crew, and open work past its due time, soonest breach first
    (work without an SLA last). Reads work_order_open_idx (department, status, due_at; open work only)."""
    now = now or timezone.now()
    qs = (WorkOrder.objects.select_related("department", "service", "crew")
          .only("title", "status", "priority", "due_at", "created_at", "version", "location", "crew__code",
                "department__code", "service__code", "service__name")  # not the catalogue texts: half the time
          .exclude(status__in=list(states.DONE))
          .filter(Q(crew__isnull=True, status__in=UNASSIGNED) | Q(due_at__lt=now)))
    if departments is not None:
        qs = qs.filter(department_id__in=departments)
    if department_codes:
        qs = qs.filter(department__code__in=department_codes)
    if service_codes:
        qs = qs.filter(service__code__in=service_codes)
    return list(qs.order_by(F("due_at").asc(nulls_last=True), "priority", "id")[:limit])


def request_detail_staff(pk: int) -> ServiceRequest | None:
    """One request in full for staff: texts, photos, link (asset, utilities, routing), history, work order."""
    return (ServiceRequest.objects.select_related("service", "department", "district", "work_order",
                                                  "link__asset__asset_type", "link__department", "link__rule",
                                                  "link__reclassified_from", "duplicate_of")
            .prefetch_related(Prefetch("notes", queryset=RequestNote.objects.order_by("created_at", "id")), "media")
            .filter(pk=pk).first())


def plan_stops_current(*, departments: set[int] | None, date: dt.date,
                       department_codes: list[str] | None = None) -> list[PlanStop]:
    """Every crew's stops in its department's current plan for the date (the highest version), in visiting order.
    Reads day_plan_version (department, date, version) for the plans."""
    plans = DayPlan.objects.filter(date=date)
    if departments is not None:
        plans = plans.filter(department_id__in=departments)
    if department_codes:
        plans = plans.filter(department__code__in=department_codes)
    current = plans.order_by("department_id", "-version").distinct("department_id").values("pk")
    return list(PlanStop.objects.filter(plan_id__in=[p["pk"] for p in current])
                .select_related("plan", "crew__department", "work_order")
                .only("sequence", "arrive_at", "plan__version", "crew__code", "crew__last_position", "crew__depot",
                      "crew__department__code", "work_order__location", "work_order__status")
                .order_by("crew_id", "sequence"))
