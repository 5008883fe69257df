"""The automatic dispatcher: ready work of auto-dispatch services to the best crew, safely next to people."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point

from gis import crs
from gis.models import Department
from tests.work.conftest import BASE_X, BASE_Y
from tests.work.test_dispatch_concurrency import race
from workorders.crews import crew_position_record
from workorders.models import Crew, Service, ServiceRequest, WorkOrder
from workorders.models import WorkOrderStatus as S
from workorders.work import work_order_transition, work_orders_autodispatch, work_orders_generate

ALWAYS = dict(shift_start=dt.time(0), shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7])


def crew_at(code: str, dx: float, **fields) -> Crew:
    crew = Crew.objects.create(code=code, name=code, department=Department.objects.get(code="street-lighting"),
                               skills=["bucket-truck"], **(ALWAYS | fields))
    crew_position_record(crew_id=crew.pk, point=Point(BASE_X + dx, BASE_Y, srid=crs.storage_srid()))
    return crew


def work_order(report, dx: float) -> WorkOrder:
    request = report(dx=dx)
    work_orders_generate(request_ids=[request.pk])
    return ServiceRequest.objects.get(pk=request.pk).work_order


@pytest.mark.django_db
def test_ready_work_goes_to_the_nearest_crew_that_can_take_it_once(catalogue, report):
    Service.objects.filter(code="streetlight-outage").update(auto_dispatch=True)
    near, far = crew_at("near", 100, max_open_work_orders=1), crew_at("far", 2000)
    first, second = work_order(report, 2), work_order(report, 600)
    made = work_orders_autodispatch()
    assert sorted(made) == sorted([(first.pk, near.pk), (second.pk, far.pk)])  # "near" was full after one
    assert work_orders_autodispatch() == []  # nothing ready is left: a second run does nothing
    first.refresh_from_db()
    assert (first.status, first.crew_id) == (S.DISPATCHED, near.pk)
    assert first.events.get(to_status=S.DISPATCHED).actor_label == "system: automatic dispatch"


@pytest.mark.django_db
def test_work_no_crew_can_take_stays_ready_and_other_services_wait_for_people(catalogue, report):
    wo = work_order(report, 2)
    crew_at("near", 100)
    assert work_orders_autodispatch() == []  # the service is not auto-dispatched
    Service.objects.filter(code="streetlight-outage").update(auto_dispatch=True)
    Crew.objects.update(active=False)
    assert work_orders_autodispatch() == []
    assert WorkOrder.objects.get(pk=wo.pk).status == S.READY


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_and_the_automatic_dispatcher_never_both_assign(catalogue, report):
    """Both at the same moment on the same ready work: one assignment stands, the other is refused
    (or finds nothing ready); never two dispatches of one work order."""
    Service.objects.filter(code="streetlight-outage").update(auto_dispatch=True)
    crew_at("auto-pick", 50)
    person_crew = crew_at("person-pick", 3000)
    for attempt in range(6):
        wo = work_order(report, 2 + 700 * attempt)
        outcomes = race(lambda: work_orders_autodispatch(),
                        lambda wo=wo: work_order_transition(work_order_id=wo.pk, to=S.DISPATCHED,
                                                            crew_id=person_crew.pk).crew_id)
        wo.refresh_from_db()
        assert wo.events.filter(to_status=S.DISPATCHED).count() == 1, outcomes
        automatic, person = outcomes
        if automatic:  # it came first: the dispatcher's move from "ready" was refused
            assert automatic == [(wo.pk, wo.crew_id)] and person == "not_allowed"
        else:  # the dispatcher came first: nothing was ready any more
            assert person == wo.crew_id == person_crew.pk
        WorkOrder.objects.filter(pk=wo.pk).update(status=S.CANCELLED)  # out of the next attempt's way
