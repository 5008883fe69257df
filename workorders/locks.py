"""Row locks for work that two people (or a person and a worker) may do at once."""

import datetime as dt
import uuid

from workorders.models import Crew, Upload, WorkOrder


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


def upload_locked(pk: uuid.UUID) -> Upload | None:
    """The upload, locked until the transaction ends: a client's retried PATCH waits while its first one
    still writes, then sees the offset that one stored (so no byte is written twice or out of order)."""
    return Upload.objects.select_for_update(of=("self",)).select_related("user").filter(pk=pk).first()


def uploads_stale_locked(*, before: dt.datetime) -> list[Upload]:
    """Unfinished uploads untouched since ``before``, locked; one a PATCH is writing right now is skipped
    (SKIP LOCKED), so the sweeper never deletes bytes as they arrive."""
    # The partial index upload_unfinished_idx holds only unfinished uploads: finished ones are never read.
    return list(Upload.objects.select_for_update(skip_locked=True)
                .filter(completed_at__isnull=True, updated_at__lt=before))
