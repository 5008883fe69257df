"""Service levels in use: the escalation sweep (warning, breach: each recorded once) and attainment.

The beat job runs sla_escalate every minute. A level is an SlaEscalation row under a unique constraint,
so a second sweep (or two sweepers at once) records nothing new. The department hears through an
outbox: rows not yet notified are sent by sla_escalation_notify, and a lost send is retried by the sweep.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from fieldsvc.celery import enqueue
from workorders import notifications, outbox, states
from workorders.models import EscalationLevel, SlaEscalation, WorkOrder, WorkOrderEvent

_DONE = [str(s) for s in states.DONE]


def sla_escalate(*, now: dt.datetime | None = None) -> list[int]:
    """Record the warning and breach levels open work orders have reached; returns the new escalations'
    ids (notifications for them, and for any still unsent, are enqueued after commit)."""
    now = now or timezone.now()
    table, escalations = WorkOrder._meta.db_table, SlaEscalation._meta.db_table
    created: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for level, column in ((EscalationLevel.WARNING, "warn_at"), (EscalationLevel.BREACH, "due_at")):
            # work_order_warn_idx finds the candidates; the unique (work_order, level) keeps it once.
            cursor.execute(
                f"INSERT INTO {escalations} (work_order_id, level, due_at, at) "
                f"SELECT id, %s, {column}, %s FROM {table} "
                f"WHERE warn_at <= %s AND {column} <= %s AND NOT status = ANY(%s) "
                "ON CONFLICT (work_order_id, level) DO NOTHING RETURNING id, work_order_id",
                [str(level), now, now, now, _DONE])
            rows = cursor.fetchall()
            created.extend(pk for pk, _ in rows)
            WorkOrderEvent.objects.bulk_create([
                WorkOrderEvent(work_order_id=wo_id, at=now, from_status=status, to_status=status,
                               actor_label="system: SLA", note=f"SLA {level.label.lower()}")
                for wo_id, status in WorkOrder.objects.filter(pk__in=[w for _, w in rows])
                .values_list("pk", "status")])
        # Notices of the new levels, and again those whose task was lost: unsent FIELDSVC_NOTIFY_RETRY_AFTER_S
        # after they were recorded or last handed out. Each is handed out with a lease (its claimed_at): copies
        # of older messages find another lease and step aside (queueing every unsent notice at every sweep grew
        # the fault replay's queue to 16,000 messages, up to 8 per notice).
        cutoff = now - dt.timedelta(seconds=settings.FIELDSVC_NOTIFY_RETRY_AFTER_S)
        stale = list(SlaEscalation.objects.select_for_update(skip_locked=True)
                     .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=cutoff), notified_at__isnull=True,
                             at__lt=cutoff).exclude(pk__in=created).values_list("pk", flat=True)[:1000])
        SlaEscalation.objects.filter(pk__in=stale).update(claimed_at=now)
        leases = [(pk, None) for pk in created] + [(pk, now.isoformat()) for pk in stale]
        transaction.on_commit(lambda: [enqueue("workorders.tasks.sla_escalation_notify_task", escalation_id=pk,
                                               lease=lease) for pk, lease in leases])
    return created


def sla_escalation_notify(*, escalation_id: int, lease: str | None = None) -> str:
    """Tell the department about one escalation, once: the row is claimed (committed) before the email goes
    out and marked after, through a cut connection if need be (workorders/outbox.py). ``lease`` is the
    claimed_at the sweeper handed this message out with (None: the first message); a message whose lease
    is not the row's steps aside while that one is fresh. A claim left by a worker that died mid-send is
    taken again once FIELDSVC_NOTIFY_RETRY_AFTER_S old, with the same Message-ID."""
    stale = timezone.now() - dt.timedelta(seconds=settings.FIELDSVC_NOTIFY_RETRY_AFTER_S)
    with transaction.atomic():
        row = (SlaEscalation.objects.select_for_update(of=("self",))
               .select_related("work_order__department", "work_order__service").filter(pk=escalation_id).first())
        if row is None:
            return "gone"
        if row.notified_at is not None:
            return "already sent"
        mine = row.claimed_at is None if lease is None else row.claimed_at == dt.datetime.fromisoformat(lease)
        if not mine and row.claimed_at is not None and row.claimed_at > stale:
            return "sending"  # another message or worker has it
        row.claimed_at = timezone.now()
        row.save(update_fields=["claimed_at"])
    wo, department = row.work_order, row.work_order.department
    if department.email:
        verb = "is past its due time" if row.level == EscalationLevel.BREACH else "is close to its due time"
        notifications.EmailSender().send(
            to=department.email, subject=f"[311] WO-{wo.pk} {verb}", message_id=f"<sla-escalation-{row.pk}@fieldsvc>",
            body=f"{wo.title}\nStatus: {wo.get_status_display()}\nDue: {row.due_at:%Y-%m-%d %H:%M %Z}\n"
                 f"{settings.FIELDSVC_PUBLIC_URL.rstrip('/')}/admin/workorders/workorder/{wo.pk}/change/",
        )
    outbox.record_after_send(SlaEscalation, row.pk, notified_at=timezone.now())
    return "sent" if department.email else "no address"


# --- Attainment ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attainment:
    key: str  # the service, department or neighbourhood
    finished: int  # work orders with an SLA finished (completed) in the period
    on_time: int
    open_overdue: int  # past due and not finished at the period's end

    @property
    def percent(self) -> float | None:
        return round(100 * self.on_time / self.finished, 1) if self.finished else None


_GROUPS = {"service": "service__name", "department": "department__name", "neighbourhood": "district__name"}


def sla_attainment(*, by: str, since: dt.datetime, until: dt.datetime) -> list[Attainment]:
    """Per service, department or neighbourhood: of the work orders with an SLA finished in [since, until),
    how many by their due time; and how many were past due and unfinished at ``until``. Cancelled work
    does not count. Ordered by key."""
    if by not in _GROUPS:
        raise ValueError(f"by is one of {', '.join(_GROUPS)}")
    field = _GROUPS[by]
    finished = (WorkOrder.objects.filter(due_at__isnull=False, actual_end__gte=since, actual_end__lt=until)
                .exclude(status=states.S.CANCELLED).values(field)
                .annotate(n=Count("id"), on_time=Count("id", filter=Q(actual_end__lte=F("due_at")))))
    # Past due at ``until`` and not finished by then (whatever happened after).
    overdue = (WorkOrder.objects.filter(Q(actual_end__isnull=True) | Q(actual_end__gte=until), due_at__lt=until)
               .exclude(status=states.S.CANCELLED).values(field).annotate(n=Count("id")))
    rows: dict[str, list[int]] = {}
    for row in finished:
        rows.setdefault(row[field] or "(none)", [0, 0, 0])[:2] = [row["n"], row["on_time"]]
    for row in overdue:
        rows.setdefault(row[field] or "(none)", [0, 0, 0])[2] = row["n"]
    return [Attainment(key, *counts) for key, counts in sorted(rows.items())]
