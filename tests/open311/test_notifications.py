"""Followers hear of status changes and closure; the survey can reopen; the status page by number."""

import pytest
import yaml
from django.core import mail

from tests.geo import CAMBRIDGE_CITY_HALL_WGS84
from workorders import services
from workorders.catalogue import translated
from workorders.models import Notification, Service, ServiceRequest, Survey
from workorders.services import RequestInput, notification_send, request_create, request_status_change
from workorders.tasks import notification_send_task

pytestmark = pytest.mark.django_db
LON, LAT = CAMBRIDGE_CITY_HALL_WGS84
SENT_SMS: list[dict] = []


class CollectingSms:
    def send(self, *, to, subject, body):
        SENT_SMS.append({"to": to, "body": body})


class BrokenGateway:
    def send(self, *, to, subject, body):
        raise ConnectionError("gateway down")


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.FIELDSVC_PUBLIC_URL = "https://311.example.city"
    SENT_SMS.clear()


def report(**fields) -> ServiceRequest:
    service = Service.objects.get(code="streetlight-outage")
    request, _ = request_create(service=service, data=RequestInput(lat=LAT, long=LON, **fields))
    return request


def send_pending() -> None:
    for notification in Notification.objects.filter(status="pending"):
        notification_send(notification=notification)


def test_a_status_change_is_mailed_to_the_follower_after_commit(catalogue, django_capture_on_commit_callbacks):
    request = report(email="ana@example.org", address_string="795 Massachusetts Ave")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_status_change(request=request, detailed_status="in_progress", description="Crew assigned")
    assert len(callbacks) == 1  # the send task is enqueued only once the change is committed
    send_pending()
    (message,) = mail.outbox
    assert message.to == ["ana@example.org"]
    assert message.subject == f"[{request.reference}] Street Light Outage: In progress"
    assert "Crew assigned" in message.body and f"https://311.example.city/requests/{request.reference}" in message.body
    assert Notification.objects.get().status == "sent"


def test_closure_sends_a_survey_and_not_fixed_reopens(catalogue, client):
    request = report(email="ana@example.org")
    request_status_change(request=request, detailed_status="fixed", description="Lamp replaced")
    send_pending()
    survey = Survey.objects.get(request=request)
    assert f"https://311.example.city/survey/{survey.token}" in mail.outbox[0].body
    assert client.get(f"/survey/{survey.token}").status_code == 200
    response = client.post(f"/survey/{survey.token}", {"fixed": "no", "satisfaction": "2",
                                                        "comment": "Still dark at night"})
    assert response.status_code == 200 and b"reopened" in response.content
    survey.refresh_from_db()
    request.refresh_from_db()
    assert (survey.fixed, survey.satisfaction, survey.comment) == (False, 2, "Still dark at night")
    assert (request.status, request.detailed_status) == ("open", "reopened")
    assert "Still dark at night" in request.notes.last().description
    # Answering twice changes nothing; a bad answer is a 400 and stores nothing.
    assert client.post(f"/survey/{survey.token}", {"fixed": "yes"}).status_code == 200
    survey.refresh_from_db()
    assert survey.fixed is False
    request_status_change(request=request, detailed_status="fixed")
    second = Survey.objects.filter(request=request).latest("created_at")
    assert client.post(f"/survey/{second.token}", {"fixed": "maybe"}).status_code == 400
    assert client.post(f"/survey/{second.token}", {"fixed": "yes", "satisfaction": "9"}).status_code == 400
    second.refresh_from_db()
    assert second.answered_at is None


def test_the_reporter_of_a_duplicate_hears_when_the_original_is_fixed(catalogue):
    original = report(email="first@example.org")
    report(email="second@example.org")  # same place: a duplicate
    request_status_change(request=original, detailed_status="fixed")
    send_pending()
    assert sorted(m.to[0] for m in mail.outbox) == ["first@example.org", "second@example.org"]


def test_a_comment_alone_notifies_nobody_and_duplicates_get_no_survey(catalogue):
    request = report(email="ana@example.org")
    request_status_change(request=request, detailed_status=request.detailed_status, description="Noted by staff")
    assert Notification.objects.count() == 0
    request_status_change(request=request, detailed_status="duplicate")
    assert Survey.objects.count() == 0 and Notification.objects.count() == 1


def test_sms_goes_through_the_configured_backend(catalogue, settings):
    settings.FIELDSVC_SMS_BACKEND = "tests.open311.test_notifications.CollectingSms"
    request = report(phone="+16175550100")
    request_status_change(request=request, detailed_status="in_progress")
    send_pending()
    assert SENT_SMS[0]["to"] == "+16175550100" and request.reference in SENT_SMS[0]["body"]
    assert mail.outbox == []


def test_a_failing_gateway_is_retried_then_given_up(catalogue, settings):
    settings.FIELDSVC_SMS_BACKEND = "tests.open311.test_notifications.BrokenGateway"
    settings.FIELDSVC_NOTIFY_MAX_ATTEMPTS = 2
    request_status_change(request=report(phone="+16175550100"), detailed_status="in_progress")
    notification = Notification.objects.get()
    assert notification_send(notification=notification) == "pending"
    assert notification_send(notification=notification) == "failed"
    notification.refresh_from_db()
    assert notification.attempts == 2 and "gateway down" in notification.last_error


def test_the_send_task_sends_once(catalogue):
    request_status_change(request=report(email="ana@example.org"), detailed_status="in_progress")
    notification = Notification.objects.get()
    assert notification_send_task.apply(kwargs={"notification_id": notification.pk}).get() == "sent"
    assert notification_send_task.apply(kwargs={"notification_id": notification.pk}).get() == "sent"
    assert len(mail.outbox) == 1


def test_stale_pending_messages_are_found_for_the_sweeper(catalogue, settings):
    settings.FIELDSVC_NOTIFY_RETRY_AFTER_S = -1
    request_status_change(request=report(email="ana@example.org"), detailed_status="in_progress")
    assert services.notifications_pending_stale() == [Notification.objects.get().pk]


def test_status_page_by_reference_id_or_lookup_without_personal_details(catalogue, client):
    request = report(email="ana@example.org", first_name="Ana", address_string="795 Massachusetts Ave")
    page = client.get(f"/requests/{request.reference}")
    assert page.status_code == 200
    assert b"Street Light Outage" in page.content and b"795 Massachusetts Ave" in page.content
    assert b"ana@example.org" not in page.content and b"Ana" not in page.content
    assert client.get(f"/requests/{request.pk}").status_code == 200
    assert client.get(f"/requests/{request.reference.lower().replace('-', '')}").status_code == 200
    lookup = client.get("/status", {"number": request.reference})
    assert lookup.status_code == 302 and lookup["Location"] == f"/requests/{request.reference}"
    assert client.get("/status", {"number": "ZZZZ-ZZZZ"}).status_code == 404
    assert client.get("/requests/nothing-here").status_code == 404


def test_followers_hear_in_the_language_they_reported_in(catalogue, client, api_key):
    """locale= on the form, else the Accept-Language header, picks the messages' language."""
    texts = yaml.safe_load(open("workorders/notification_texts.yaml", encoding="utf-8"))
    service = Service.objects.get(code="streetlight-outage")
    form = {"api_key": api_key, "service_code": service.code, "lat": LAT, "long": LON}
    spanish = client.post("/open311/v2/requests.json", form | {"email": "ana@example.org", "locale": "es"})
    chinese = client.post("/open311/v2/requests.json", form | {"email": "li@example.org", "lat": LAT + 0.01},
                          HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    plain = client.post("/open311/v2/requests.json", form | {"email": "jo@example.org", "lat": LAT - 0.01})
    for response in (spanish, chinese, plain):
        request = ServiceRequest.objects.get(pk=response.json()[0]["service_request_id"])
        request_status_change(request=request, detailed_status="fixed")
    send_pending()
    by_address = {message.to[0]: message for message in mail.outbox}
    for address, locale in (("ana@example.org", "es"), ("li@example.org", "zh-hans"), ("jo@example.org", "en")):
        message = by_address[address]
        request = ServiceRequest.objects.get(followers__email=address)
        name = translated(service.i18n, locale, "name", service.name)
        assert message.subject == texts[locale]["subject"].format(
            reference=request.reference, service=name, status=texts[locale]["status"]["fixed"])
        assert texts[locale]["survey"].split("{")[0] in message.body
    assert "Resuelto" in by_address["ana@example.org"].subject
    assert "已修复" in by_address["li@example.org"].subject
    assert "Fixed" in by_address["jo@example.org"].subject
