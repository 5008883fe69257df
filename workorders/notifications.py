"""Telling followers: messages written from a status step, sent by email or SMS through one small interface."""

import logging
from functools import cache
from pathlib import Path
from typing import Protocol

import yaml
from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from workorders.catalogue import locale_pick, translated
from workorders.models import DetailedStatus, Notification, RequestNote, ServiceRequest, Survey

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, *, to: str, subject: str, body: str) -> None: ...


class EmailSender:
    """Django's email framework: the backend (SMTP, file, console…) is the EMAIL_BACKEND setting."""

    def send(self, *, to: str, subject: str, body: str, message_id: str = "") -> None:
        headers = {"Message-ID": message_id} if message_id else None
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [to], headers=headers).send(fail_silently=False)


def message_id(notification_id: int) -> str:
    """One Message-ID per outbox row, whichever attempt sends it: a copy sent again after a crash between
    the send and its record is the same message to mail systems (and countable by the fault replay)."""
    return f"<notification-{notification_id}@fieldsvc>"


class LogSmsSender:
    """The default SMS sender writes to the log; a deployment names its gateway's class in
    FIELDSVC_SMS_BACKEND (any class with this send method)."""

    def send(self, *, to: str, subject: str, body: str) -> None:
        log.info("SMS to %s: %s", to, body[:300])


def sender_for(channel: str) -> Sender:
    return EmailSender() if channel == "email" else import_string(settings.FIELDSVC_SMS_BACKEND)()


def public_url(path: str) -> str:
    return (settings.FIELDSVC_PUBLIC_URL or "http://127.0.0.1:8000").rstrip("/") + path


@cache
def _texts() -> dict[str, dict]:
    with open(Path(__file__).with_name("notification_texts.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def compose(request: ServiceRequest, note: RequestNote, survey: Survey | None, locale: str = "en") -> tuple[str, str]:
    """(subject, body) telling a follower, in their language, where their report stands."""
    locale = locale_pick(locale)
    texts = _texts().get(locale) or _texts()["en"]
    service = request.service
    values = {
        "reference": request.reference,
        "service": translated(service.i18n, locale, "name", service.name),
        "status": texts["status"].get(note.detailed_status) or DetailedStatus(note.detailed_status).label,
        "place": request.address_string or texts["place_unknown"],
    }
    lines = [texts["now"].format(**values)]
    if note.description:
        lines += ["", note.description]
    lines += ["", texts["follow"].format(url=public_url(f"/requests/{request.reference}"))]
    if survey is not None:
        lines += ["", texts["survey"].format(url=public_url(f"/survey/{survey.token}"))]
    return texts["subject"].format(**values), "\n".join(lines)


def notifications_create(*, request: ServiceRequest, note: RequestNote, survey: Survey | None,
                         followers: list) -> list[Notification]:
    """One outbox row per follower (email if they gave one, else SMS) in the follower's language;
    sent after commit by a worker."""
    messages: dict[str, tuple[str, str]] = {}
    rows = []
    for follower in followers:
        locale = locale_pick(follower.locale)
        if locale not in messages:
            messages[locale] = compose(request, note, survey, locale)
        subject, body = messages[locale]
        rows.append(Notification(request=request, follower=follower, note=note,
                                 channel="email" if follower.email else "sms", subject=subject, body=body))
    return Notification.objects.bulk_create(rows)
