"""Reads of work orders and crews for the dispatcher API: filtered lists and one work order in full."""

import datetime as dt

from django.contrib.gis.geos import Polygon
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from gis import crs
from gis.spatial import queries
from workorders import states
from workorders.models import Crew, ServiceRequest, WorkOrder, WorkOrderEvent


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
