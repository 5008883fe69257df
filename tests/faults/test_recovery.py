"""Faults the replay found, each once: a cut database connection in a task, a send and a web request; a stuck
connect in a forked child. Side effects happen once and requests are stored once."""

import base64
import json
import socket

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, connections
from django.utils import timezone

from fieldsvc.forking import ChildFailed, fork_split
from gis.models import Department
from tests.faults.conftest import cut
from tests.geo import CAMBRIDGE_CITY_HALL_WGS84
from workorders.linking import request_link
from workorders.models import (
    Notification,
    RequestLink,
    Service,
    ServiceRequest,
    SlaEscalation,
    WorkOrder,
    WorkOrderEvent,
)
from workorders.service_levels import sla_escalate, sla_escalation_notify
from workorders.services import (
    RequestInput,
    notification_send,
    notifications_pending_stale,
    request_create,
    request_status_change,
)
from workorders.tasks import requests_link_task
from workorders.work import work_orders_generate

LON, LAT = CAMBRIDGE_CITY_HALL_WGS84
SENT_AND_CUT: list[int] = []


class SendThenCut(EmailBackend):
    """Delivers (into mail.outbox), then the database connection of the sender is cut: the moment a worker has
    sent a message and not yet recorded it."""

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        pid = connection.connection.info.backend_pid
        cut(pid)
        SENT_AND_CUT.append(pid)
        return sent


def report(**fields) -> ServiceRequest:
    service = Service.objects.get(code="streetlight-outage")
    request, _ = request_create(service=service, data=RequestInput(lat=LAT, long=LON, link_on_commit=False,
                                                                   **fields))
    return request


@pytest.fixture
def pending_email(catalogue, settings) -> Notification:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    request_status_change(request=report(email="ana@example.org"), detailed_status="in_progress")
    return Notification.objects.get()


def test_a_message_sent_before_its_connection_was_cut_is_recorded_and_never_sent_again(
        transactional_db, pending_email, settings):
    settings.EMAIL_BACKEND = "tests.faults.test_recovery.SendThenCut"
    SENT_AND_CUT.clear()
    assert notification_send(notification=pending_email) == "sent"
    assert SENT_AND_CUT, "the connection was not cut after the send"
    pending_email.refresh_from_db()  # on a new connection: the record made it through
    assert (pending_email.status, pending_email.attempts) == ("sent", 1)
    assert notification_send(notification=pending_email) == "sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<notification-{pending_email.pk}@fieldsvc>"


def test_a_fresh_claim_is_left_to_its_worker_and_a_stale_one_goes_to_the_sweeper(db, pending_email, settings):
    settings.FIELDSVC_NOTIFY_RETRY_AFTER_S = 300
    Notification.objects.filter(pk=pending_email.pk).update(status="sending", claimed_at=timezone.now())
    assert notification_send(notification=pending_email) == "sending"  # another worker is sending it
    assert mail.outbox == [] and notifications_pending_stale() == []
    Notification.objects.filter(pk=pending_email.pk).update(claimed_at=timezone.now() - timezone.timedelta(hours=1))
    assert notifications_pending_stale() == [pending_email.pk]  # its worker died mid-send
    assert notifications_pending_stale() == []  # handed out again: left to that task for a while
    assert notification_send(notification=pending_email) == "sent"
    assert len(mail.outbox) == 1


def test_an_sla_notice_sent_before_its_connection_was_cut_is_recorded_and_never_sent_again(
        transactional_db, catalogue, settings):
    request = report()
    request_link(request_id=request.pk)
    work_orders_generate(request_ids=[request.pk])
    wo = ServiceRequest.objects.get(pk=request.pk).work_order
    Department.objects.filter(pk=wo.department_id).update(email="lights@example.city")
    warning, breach = sla_escalate(now=wo.due_at + timezone.timedelta(hours=1))
    settings.EMAIL_BACKEND = "tests.faults.test_recovery.SendThenCut"
    SENT_AND_CUT.clear()
    assert sla_escalation_notify(escalation_id=warning) == "sent" and SENT_AND_CUT
    assert SlaEscalation.objects.get(pk=warning).notified_at is not None
    assert sla_escalation_notify(escalation_id=warning) == "already sent"
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [f"<sla-escalation-{warning}@fieldsvc>"]


def queued_escalations() -> list[int]:
    """The escalation ids of the SLA notice tasks waiting on the broker (the tests' own queue for them)."""
    import redis

    queue = settings.CELERY_TASK_ROUTES["workorders.tasks.sla_escalation_notify_task"]["queue"]
    messages = redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange(queue, 0, -1)
    return sorted(json.loads(base64.b64decode(json.loads(m)["body"]))[1]["escalation_id"] for m in messages)


def test_the_sla_sweep_queues_a_notice_when_recorded_and_again_only_once_stale(
        catalogue, settings, django_capture_on_commit_callbacks):
    settings.FIELDSVC_NOTIFY_RETRY_AFTER_S = 300
    request = report()
    request_link(request_id=request.pk)
    work_orders_generate(request_ids=[request.pk])
    due_at = ServiceRequest.objects.get(pk=request.pk).work_order.due_at
    before = queued_escalations()
    with django_capture_on_commit_callbacks(execute=True):
        created = sla_escalate(now=due_at + timezone.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        sla_escalate(now=due_at + timezone.timedelta(seconds=60))  # still waiting for its worker: not again
    assert len(created) == 2 and queued_escalations() == sorted(before + created)
    handed_out_at = due_at + timezone.timedelta(seconds=302)
    with django_capture_on_commit_callbacks(execute=True):
        sla_escalate(now=handed_out_at)  # lost, it seems: handed out again, with a lease
        sla_escalate(now=handed_out_at + timezone.timedelta(seconds=5))  # and not at the next sweep
    assert queued_escalations() == sorted(before + created + created)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sla_escalation_notify(escalation_id=created[0]) == "sending"  # the first message steps aside
    assert sla_escalation_notify(escalation_id=created[0], lease=handed_out_at.isoformat()) == "sent"
    assert sla_escalation_notify(escalation_id=created[0]) == "already sent" and len(mail.outbox) == 1


def test_a_link_task_whose_connection_was_cut_is_retried_and_links_once(transactional_db, catalogue,
                                                                        cut_connection):
    request = report()
    cut_connection()
    # Run as a worker runs it (eagerly here): the first attempt fails on the dead connection, the retry
    # closes it and the second attempt links and makes the work order.
    result = requests_link_task.apply(kwargs={"request_ids": [request.pk]})
    assert result.get() == 1 and result.state == "SUCCESS"
    assert RequestLink.objects.get(pk=request.pk).state == "linked"
    assert WorkOrder.objects.count() == 1
    assert WorkOrderEvent.objects.filter(note="created").count() == 1
    assert requests_link_task.apply(kwargs={"request_ids": [request.pk]}).get() == 0  # again: nothing to do
    assert WorkOrder.objects.count() == 1


def test_an_open311_post_whose_database_is_cut_is_a_503_and_its_retry_is_stored_once(
        transactional_db, api_key, client, cut_connection):
    form = {"api_key": api_key, "service_code": "streetlight-outage", "lat": LAT, "long": LON,
            "description": "Dark since Tuesday"}
    cut_connection()  # the test client does not check connections between requests, as a server mid-request
    cut_off = client.post("/open311/v2/requests.json", form, headers={"Idempotency-Key": "retry-me"})
    assert cut_off.status_code == 503 and cut_off["Retry-After"] == "2"
    assert cut_off.json()[0]["code"] == 503 and "again" in cut_off.json()[0]["description"]
    first = client.post("/open311/v2/requests.json", form, headers={"Idempotency-Key": "retry-me"})
    again = client.post("/open311/v2/requests.json", form, headers={"Idempotency-Key": "retry-me"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    assert ServiceRequest.objects.filter(idempotency_key="retry-me").count() == 1


def test_a_staff_api_whose_database_is_cut_answers_503_with_a_code(transactional_db, client, cut_connection,
                                                                   django_user_model):
    client.force_login(django_user_model.objects.create_superuser("dispatcher", password="x"))
    cut_connection()  # the session is read from the database: the first query meets the cut
    response = client.get("/api/crews")
    assert response.status_code == 503 and response.json()["code"] == "database_unavailable"


def test_a_forked_child_stuck_connecting_fails_the_call_instead_of_hanging(transactional_db):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts the TCP handshake and never says a word, like a server hung at startup
    settings_dict = connections["default"].settings_dict
    saved = settings_dict["PORT"], dict(settings_dict["OPTIONS"])
    settings_dict["PORT"] = silent.getsockname()[1]
    settings_dict["OPTIONS"].pop("connect_timeout", None)  # only the guard stands between us and a hang
    try:
        with pytest.raises(ChildFailed, match="connecting to the database took over"):
            fork_split([1, 2], lambda share, done: done(len(share)), processes=2, connect_timeout_s=1)
    finally:
        settings_dict["PORT"], settings_dict["OPTIONS"] = saved
        silent.close()


def test_two_sends_of_one_update_racing_store_it_once_and_answer_both_with_it(transactional_db, api_key):
    import threading

    import psycopg
    from django.test import Client

    from workorders.models import RequestNote

    request = report()
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "server_side_binding", "prepare_threshold"):
        params.pop(name, None)
    answers = []
    with psycopg.connect(**params) as locker:
        # Both sends pass the "already posted?" check, then queue on the request's row lock: as a client's retry
        # sent while its first attempt is still running does.
        locker.execute("SELECT 1 FROM workorders_servicerequest WHERE id = %s FOR UPDATE", [request.pk])

        def send():
            try:
                answers.append(Client().post("/open311/v2/servicerequestupdates.json", {
                    "api_key": api_key, "service_request_id": request.pk, "status": "FIXED", "update_id": "u-1"}))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        waiting = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND datname = current_database()")
        for _ in range(100):
            if locker.execute(waiting).fetchone()[0] >= 2:
                break
            threading.Event().wait(0.05)
        locker.commit()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert answers[0].json()[0]["update_id"] == answers[1].json()[0]["update_id"]
    assert RequestNote.objects.filter(external_update_id="u-1").count() == 1
