"""Writes done once per client key (draft-ietf-httpapi-idempotency-key-header): the answer is stored with
a fingerprint of what was asked, in the same transaction as the write, so a retry gets the stored answer
and the write can never happen twice."""

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from workorders.models import IdempotencyRecord


class KeyReused(Exception):
    """The same key came with a different request."""


class InFlight(Exception):
    """The first request with this key is still being done."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict
    replayed: bool


def fingerprint(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()


def as_json(body: dict) -> dict:
    """The body as it will be stored (dates as text), so a replay is byte-for-byte the first answer."""
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


def once(*, user, key: str, payload, action: Callable[[], tuple[int, dict]],
         keep: Callable[[int], bool] = lambda code: code < 500) -> Answer:
    """Run ``action`` (returning status code and body) unless this user's ``key`` was used: then the stored
    answer (KeyReused if ``payload`` differs). Answers ``keep`` refuses (say, 'try later') are not stored."""
    stamp = fingerprint(payload)
    with transaction.atomic():
        with connection.cursor() as c:
            # Held to the end of the transaction: a parallel retry is told 'in flight', not run twice.
            c.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"idempotency:{user.pk}:{key}"])
            if not c.fetchone()[0]:
                raise InFlight(key)
        found = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if found is not None:
            if found.fingerprint != stamp:
                raise KeyReused(key)
            return Answer(found.status_code, found.response, True)
        code, body = action()
        body = as_json(body)
        if keep(code):
            IdempotencyRecord.objects.create(user=user, key=key, fingerprint=stamp, status_code=code, response=body)
    return Answer(code, body, False)


def idempotency_prune(*, now: dt.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.FIELDSVC_IDEMPOTENCY_KEEP_H)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
