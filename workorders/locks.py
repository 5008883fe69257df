"""Row locks for work that two people (or a person and a worker) may do at once."""

from workorders.models import Crew, WorkOrder


def work_order_locked(pk: int) -> WorkOrder:
    """The work order, locked until the transaction ends: a second transition waits, then sees the first's
    result (so a work order is never assigned twice). Inside transaction.atomic() only."""
    return WorkOrder.objects.select_for_update(of=("self",)).select_related("service").get(pk=pk)


def work_order_next_ready(*, exclude: set[int]) -> WorkOrder | None:
    """The most urgent ready work order of an auto-dispatch service that no other transaction holds,
    locked (FOR UPDATE SKIP LOCKED: parallel dispatchers each take a different one, none waits)."""
    return (WorkOrder.objects.select_for_update(skip_locked=True, of=("self",)).select_related("service")
            .filter(status="ready", service__auto_dispatch=True).exclude(pk__in=exclude)
            .order_by("priority", "due_at", "id").first())


def crew_locked(pk: int) -> Crew | None:
    """The crew, locked until the transaction ends: assignments to one crew queue here, so its load is
    counted after the previous assignment committed (never overloaded). Lock work orders first."""
    return Crew.objects.select_for_update().filter(pk=pk).first()
