"""Celery tasks for service requests: thin wrappers around workorders.services."""

from celery import shared_task

from fieldsvc.celery import RETRYING
from workorders.models import Notification


@shared_task(**RETRYING)
def notification_send_task(*, notification_id: int) -> str:
    from workorders.services import notification_send

    notification = Notification.objects.filter(pk=notification_id).first()
    return notification_send(notification=notification) if notification else "gone"


@shared_task
def notification_requeue_pending_task() -> int:
    from workorders.services import notifications_pending_stale

    ids = notifications_pending_stale()
    for pk in ids:
        notification_send_task.delay(notification_id=pk)
    return len(ids)


@shared_task(**RETRYING)
def request_link_task(*, request_id: int, force: bool = False) -> str:
    from workorders.linking import request_link
    from workorders.work import work_orders_generate

    done = request_link(request_id=request_id, force=force)
    work_orders_generate(request_ids=[request_id])
    return done


@shared_task(**RETRYING)
def requests_link_task(*, request_ids: list[int], force: bool = False) -> int:
    from workorders.linking import requests_link_batch
    from workorders.work import work_orders_generate

    done = requests_link_batch(request_ids=request_ids, force=force)
    work_orders_generate(request_ids=request_ids)  # routed now: each gets its work order
    return done


@shared_task
def work_orders_generate_task() -> int:
    from workorders.work import work_orders_generate

    return work_orders_generate()


@shared_task
def request_link_sweep_task() -> int:
    from workorders.linking import requests_link_stale

    return requests_link_stale()


@shared_task
def requests_relink_near_task(*, wkb_hex: list[str], asset_ids: list[int] | None = None) -> int:
    from workorders.linking import requests_relink_near

    return requests_relink_near(wkb_hex=wkb_hex, asset_ids=asset_ids)


@shared_task
def sla_escalate_task() -> int:
    from workorders.service_levels import sla_escalate

    return len(sla_escalate())


@shared_task(**{**RETRYING, "autoretry_for": (*RETRYING["autoretry_for"], OSError)})  # SMTP errors too
def sla_escalation_notify_task(*, escalation_id: int, lease: str | None = None) -> str:
    from workorders.service_levels import sla_escalation_notify

    return sla_escalation_notify(escalation_id=escalation_id, lease=lease)


@shared_task
def work_orders_autodispatch_task() -> int:
    from workorders.work import work_orders_autodispatch

    return len(work_orders_autodispatch())


@shared_task
def day_plan_make_task(*, department_id: int, date: str | None = None, seconds: float = 20.0) -> int:
    import datetime as dt

    from workorders.day_plans import PlanSuperseded, day_plan_make

    try:
        return day_plan_make(department_id=department_id, seconds=seconds,
                             date=dt.date.fromisoformat(date) if date else None).version
    except PlanSuperseded:
        return 0  # a newer plan was stored meanwhile: it stands


@shared_task
def day_plans_morning_task() -> int:
    from workorders.models import Crew

    departments = set(Crew.objects.filter(active=True).values_list("department_id", flat=True))
    for department_id in departments:
        day_plan_make_task.delay(department_id=department_id)
    return len(departments)


@shared_task
def day_plan_insert_urgent_task(*, work_order_id: int) -> int:
    from workorders.day_plans import PlanSuperseded, day_plan_insert_urgent

    try:
        return day_plan_insert_urgent(work_order_id=work_order_id).version
    except PlanSuperseded:
        return 0


@shared_task
def field_sync_prune_task() -> dict:
    from workorders.field_sync import field_sync_prune

    return field_sync_prune()
