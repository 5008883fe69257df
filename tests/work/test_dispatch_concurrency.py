"""Two dispatchers at once, on real PostgreSQL connections: no work order assigned twice, no crew overloaded."""

import threading

import pytest
from django.db import connection

from gis.models import Department
from workorders.models import Crew, ServiceRequest, WorkOrder
from workorders.models import WorkOrderStatus as S
from workorders.work import TransitionRefused, work_order_transition, work_orders_generate


def race(*calls) -> list:
    """Run the calls in threads released together; each outcome is the result or the refusal code."""
    barrier, outcomes = threading.Barrier(len(calls)), [None] * len(calls)

    def run(n, call):
        try:
            barrier.wait()
            outcomes[n] = call()
        except TransitionRefused as refused:
            outcomes[n] = refused.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_never_assign_one_work_order_twice(catalogue, report):
    lights = Department.objects.get(code="street-lighting")
    a = Crew.objects.create(code="a", name="A", department=lights)
    b = Crew.objects.create(code="b", name="B", department=lights)
    for attempt in range(5):
        request = report(dx=200 * attempt + 2)
        work_orders_generate(request_ids=[request.pk])
        wo_id = ServiceRequest.objects.get(pk=request.pk).work_order_id
        outcomes = race(*[lambda wo_id=wo_id, crew=crew: work_order_transition(
            work_order_id=wo_id, to=S.DISPATCHED, crew_id=crew.pk).crew_id for crew in (a, b)])
        winners = [o for o in outcomes if isinstance(o, int)]
        assert len(winners) == 1 and outcomes.count("not_allowed") == 1, outcomes
        wo = WorkOrder.objects.get(pk=wo_id)
        assert (wo.status, wo.crew_id) == (S.DISPATCHED, winners[0])
        assert wo.events.filter(to_status=S.DISPATCHED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_crew_is_never_given_more_than_it_can_take(catalogue, report):
    crew = Crew.objects.create(code="solo", name="Solo", department=Department.objects.get(code="street-lighting"),
                               max_open_work_orders=1)
    ids = []
    for dx in (2, 1000):
        request = report(dx=dx)
        work_orders_generate(request_ids=[request.pk])
        ids.append(ServiceRequest.objects.get(pk=request.pk).work_order_id)
    outcomes = race(*[lambda pk=pk: work_order_transition(work_order_id=pk, to=S.DISPATCHED, crew_id=crew.pk).pk
                      for pk in ids])
    assert [o for o in outcomes if isinstance(o, str)] == ["crew_full"]
    assert len([o for o in outcomes if isinstance(o, int)]) == 1
    assert WorkOrder.objects.filter(crew=crew, status=S.DISPATCHED).count() == 1
    # Another department's crew, or a missing one, is refused with its reason.
    parks = Crew.objects.create(code="p", name="P", department=Department.objects.get(code="parks"))
    free = next(pk for pk in ids if not WorkOrder.objects.get(pk=pk).crew_id)
    for crew_id, code in ((parks.pk, "crew_department"), (999_999, "crew_unknown")):
        with pytest.raises(TransitionRefused) as refused:
            work_order_transition(work_order_id=free, to=S.DISPATCHED, crew_id=crew_id)
        assert refused.value.code == code
