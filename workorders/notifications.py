"""Telling followers: messages written from a status step, sent by email or SMS through one small interface."""

import logging
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from workorders.models import DetailedStatus, Notification, RequestNote, ServiceRequest, Survey

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, *, to: str, subject: str, body: str) -> None: ...


class EmailSender:
    """Django's email framework: the backend (SMTP, file, console…) is the EMAIL_BACKEND setting."""

    def send(self, *, to: str, subject: str, body: str) -> None:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)


class LogSmsSender:
    """The default SMS sender writes to the log; a deployment names its gateway's class in
    FIELDSVC_SMS_BACKEND (any class with this send method)."""

    def send(self, *, to: str, subject: str, body: str) -> None:
        log.info("SMS to %s: %s", to, body[:300])


def sender_for(channel: str) -> Sender:
    return EmailSender() if channel == "email" else import_string(settings.FIELDSVC_SMS_BACKEND)()


def public_url(path: str) -> str:
    return (settings.FIELDSVC_PUBLIC_URL or "http://127.0.0.1:8000").rstrip("/") + path


def compose(request: ServiceRequest, note: RequestNote, survey: Survey | None) -> tuple[str, str]:
    """(subject, body) telling a follower where their report stands."""
    label = DetailedStatus(note.detailed_status).label
    place = request.address_string or "the place you gave"
    subject = f"[{request.reference}] {request.service.name}: {label}"
    lines = [f"Your report {request.reference} ({request.service.name}, {place}) is now: {label}."]
    if note.description:
        lines += ["", note.description]
    lines += ["", f"Follow it: {public_url(f'/requests/{request.reference}')}"]
    if survey is not None:
        lines += ["", f"Was it fixed? Tell us in one minute: {public_url(f'/survey/{survey.token}')}"]
    return subject, "\n".join(lines)


def notifications_create(*, request: ServiceRequest, note: RequestNote, survey: Survey | None,
                         followers: list) -> list[Notification]:
    """One outbox row per follower (email if they gave one, else SMS); sent after commit by a worker."""
    subject, body = compose(request, note, survey)
    rows = [
        Notification(request=request, follower=follower, note=note, channel="email" if follower.email else "sms",
                     subject=subject, body=body)
        for follower in followers
    ]
    return Notification.objects.bulk_create(rows)
