"""A street-lighting crew of two (two tablets), its dispatcher and supervisor, and work dispatched to it."""

import datetime as dt
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from gis.models import Department
from tests.work.conftest import BASE_X, BASE_Y, catalogue, report, storage_to_lonlat  # noqa: F401
from workorders.models import Crew, DepartmentRole, ServiceRequest, WorkOrder, WorkOrderEvent
from workorders.work import work_order_assign, work_orders_generate

__all__ = ["catalogue", "report", "people", "dispatched"]


@pytest.fixture
def people(catalogue):  # noqa: F811
    users = get_user_model().objects
    lights = Department.objects.get(code="street-lighting")
    made = {name: users.create_user(name, password="pw-" + name, first_name=name.title()) for name in
            ("ana", "ben", "dana", "sam", "olga", "carl")}
    DepartmentRole.objects.create(user=made["dana"], department=lights, role="dispatcher")
    DepartmentRole.objects.create(user=made["sam"], department=lights, role="supervisor")
    crew = Crew.objects.create(code="lights-1", name="Lights 1", department=lights, skills=["bucket-truck"],
                               shift_start=dt.time(0), shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7])
    crew.members.add(made["ana"], made["ben"])
    other = Crew.objects.create(code="lights-2", name="Lights 2", department=lights, skills=["bucket-truck"],
                                shift_start=dt.time(0), shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7])
    other.members.add(made["carl"])
    return made | {"crew": crew, "other_crew": other}


@pytest.fixture
def dispatched(people, report):  # noqa: F811
    """Work orders for lamps L-0 and L-1 (0 and 40 m along), dispatched to lights-1."""
    def make(dx: float = 2.0, crew: str = "crew") -> WorkOrder:
        request = report(dx=dx)
        work_orders_generate(request_ids=[request.pk])
        wo = ServiceRequest.objects.get(pk=request.pk).work_order
        wo = work_order_assign(work_order_id=wo.pk, crew_id=people[crew].pk, actor=people["dana"])
        # Dispatched early in the morning: the crew's device times today come after it.
        WorkOrderEvent.objects.filter(work_order=wo).update(at=timezone.now() - dt.timedelta(hours=3))
        return wo

    return make


def mutation(kind: str, work_order: int | None = None, *, minutes_ago: float = 5, **fields) -> dict:
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return {"id": str(uuid.uuid4()), "type": kind, "work_order": work_order, "occurred_at": at.isoformat()} | fields


def here(dx: float = 0.0) -> dict:
    lon, lat = storage_to_lonlat(BASE_X + dx, BASE_Y)
    return {"lon": lon, "lat": lat, "accuracy_m": 6.0}
