"""Writes for service requests: intake (with retries made harmless), API keys and the catalogue."""

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from fieldsvc.celery import enqueue
from gis import areas, crs
from gis.audit.services import audit_record
from gis.models import AssetType, Department, District
from workorders import inserts, linking, media, notifications, outbox, selectors
from workorders.catalogue import AnswerInvalid, answers_check, description_check
from workorders.models import (
    CLOSED_DETAILED,
    ApiKey,
    Channel,
    DetailedStatus,
    Follower,
    NoteKind,
    Notification,
    NotificationStatus,
    RequestLink,
    RequestMedia,
    RequestNote,
    RequestStatus,
    RoutingRule,
    Service,
    ServiceAttribute,
    ServiceGroup,
    ServiceRequest,
    ServiceType,
    Survey,
)

_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read out over the phone


class IntakeError(ValueError):
    """The request cannot be accepted as given; the message says why (Open311 error 400)."""


@dataclass
class RequestInput:
    """What a resident or client submits, as plain values (already parsed from the form)."""

    lat: float | None = None
    long: float | None = None
    address_string: str = ""
    address_id: str = ""
    zipcode: str = ""
    description: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    media_urls: list[str] = field(default_factory=list)
    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    device_id: str = ""
    account_id: str = ""
    channel: str = Channel.OPEN311
    locale: str = "en"
    idempotency_key: str = ""
    requested_at: dt.datetime | None = None  # replayed history keeps its own times
    uploads: list = field(default_factory=list)  # photos (UploadedFile), checked by workorders.media
    check_duplicates: bool = True
    require_answers: bool = True  # replayed history was collected by other forms
    expected_at: dt.datetime | None = None  # replayed history keeps its own targets
    external_id: str = ""  # the case id in the system it came from
    media_base_url: str = ""  # where /media/ is served, for the photos' media_url
    asset_claim: str = ""  # the asset the reporter named (CitySDK service_object_id; else attribute[asset_id])
    link_on_commit: bool = True  # False: the caller links in a batch afterwards (history replay)


def _reference() -> str:
    code = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def _location(data: RequestInput, *, required: bool) -> Point | None:
    if (data.lat is None) != (data.long is None):
        raise IntakeError("lat and long go together: give both or neither")
    if data.lat is None:
        if required and not (data.address_string or data.address_id):
            raise IntakeError("a location is required: lat and long, address_string or address_id")
        return None
    if not (-90 <= data.lat <= 90 and -180 <= data.long <= 180):
        raise IntakeError("lat must be within -90..90 and long within -180..180 (WGS84 degrees)")
    x, y = crs.storage_point(data.long, data.lat)
    if not crs.in_storage_area(x, y):
        raise IntakeError("the location is outside the area this server covers")
    return Point(x, y, srid=crs.storage_srid())


def _payload_sha256(service: Service, data: RequestInput) -> str:
    """What makes two submissions from one device the same report (a client retrying)."""
    payload = [service.code, data.lat, data.long, data.address_string, data.address_id, data.description,
               sorted(data.attributes.items()), data.media_urls]
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)).hexdigest()


def _earlier_submission(service: Service, data: RequestInput, api_key: ApiKey | None,
                        payload: str) -> ServiceRequest | None:
    if data.idempotency_key:
        return ServiceRequest.objects.filter(api_key=api_key, idempotency_key=data.idempotency_key).first()
    if data.device_id:
        # Two retries racing each other: the second waits here until the first has committed.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"fieldsvc.intake.{payload}"])
        since = timezone.now() - dt.timedelta(seconds=settings.FIELDSVC_OPEN311_RETRY_WINDOW_S)
        return ServiceRequest.objects.filter(device_id=data.device_id, payload_sha256=payload,
                                             created_at__gte=since).first()
    return None


def request_create(*, service: Service, data: RequestInput, api_key: ApiKey | None = None) -> tuple[
    ServiceRequest, bool
]:
    """Record a report or inquiry; returns (request, created). A retry returns the first request.

    Raises IntakeError (bad location, description or answers): nothing is written then.
    """
    if not service.active:
        raise IntakeError(f"service {service.code} is not accepting requests")
    try:
        description = description_check(data.description)
        answers = answers_check(service.attributes.all(), data.attributes, require=data.require_answers)
    except AnswerInvalid as exc:
        raise IntakeError(str(exc)) from None
    point = _location(data, required=not service.informational)  # a question needs no place
    try:
        uploads = media.uploads_check(data.uploads)
    except media.MediaInvalid as exc:
        raise IntakeError(str(exc)) from None
    payload = _payload_sha256(service, data) if data.device_id and not data.idempotency_key else ""
    stored: list[str] = []
    try:
        with transaction.atomic():
            earlier = _earlier_submission(service, data, api_key, payload)
            if earlier is not None:
                return earlier, False
            request = _insert(service, data, api_key, point, description, answers, payload)
            if uploads:
                _store_media(request, uploads, data.media_base_url, stored)
    except BaseException as exc:
        for name in stored:  # nothing half-written: the rows are gone, so are their files
            default_storage.delete(name)
        if not isinstance(exc, IntegrityError):
            raise
        # The same Idempotency-Key committed by a parallel retry: that one is the request.
        earlier = _earlier_submission(service, data, api_key, payload)
        if earlier is None:
            raise
        return earlier, False
    return request, True


def _insert(service, data, api_key, point, description, answers, payload) -> ServiceRequest:
    requested_at = data.requested_at or timezone.now()
    district_id = areas.district_id_at(point.x, point.y) if point else None
    request = ServiceRequest(
        service=service,
        reference=_reference(),
        description=description,
        geom=point,
        address_string=data.address_string[:500],
        address_id=data.address_id[:120],
        zipcode=data.zipcode[:12],
        requested_at=requested_at,
        expected_at=data.expected_at or (
            requested_at + dt.timedelta(hours=service.sla_hours) if service.sla_hours else None
        ),
        external_id=data.external_id or None,
        department_id=service.department_id,
        district_id=district_id,
        channel=data.channel,
        attributes=answers,
        media_urls=data.media_urls,
        email=data.email, phone=data.phone, first_name=data.first_name, last_name=data.last_name,
        device_id=data.device_id, account_id=data.account_id,
        api_key=api_key,
        idempotency_key=data.idempotency_key or None,
        payload_sha256=payload,
        token=uuid.uuid4() if service.service_type == ServiceType.BATCH else None,
    )
    parent = None
    if service.informational:  # an inquiry is answered as it is logged: never dispatched
        request.status, request.detailed_status = RequestStatus.CLOSED, DetailedStatus.NOTED
        request.closed_at = requested_at
    elif point is not None and data.check_duplicates:
        parent = selectors.request_duplicate_candidate(
            service=service, point=point, at=requested_at, radius_m=settings.FIELDSVC_DUPLICATE_RADIUS_M,
            window=dt.timedelta(hours=settings.FIELDSVC_DUPLICATE_WINDOW_H),
        )
    if parent is not None:
        request.duplicate_of_id = parent.pk
        request.status, request.detailed_status = RequestStatus.CLOSED, DetailedStatus.DUPLICATE
        request.closed_at = requested_at
        request.status_notes = (f"Already reported as {parent.reference} (request {parent.pk}); "
                                "we will tell you when it is fixed.")
    claim = data.asset_claim or next(iter(data.attributes.get("asset_id") or []), "")
    # The link is recorded pending with the request: if the task below is lost, the sweeper finds it.
    link = RequestLink(asset_claim=str(claim).strip()[:120])
    received = RequestNote(created_at=requested_at, kind=NoteKind.SUBMITTED, status=request.status,
                           detailed_status=request.detailed_status, description="Request received")
    # 30^8 references: among a million requests a clash is likely once, so draw again if it happens.
    while not inserts.insert(request, unless_taken="reference", children=(link, received)):
        request.reference = _reference()
    if data.link_on_commit:
        transaction.on_commit(partial(linking.link_soon.add, request.pk))
    if parent is not None:
        RequestNote.objects.bulk_create([
            RequestNote(request=request, created_at=requested_at, kind=NoteKind.DUPLICATE, status=request.status,
                        detailed_status=request.detailed_status, description=f"Duplicate of {parent.reference}"),
            RequestNote(request_id=parent.pk, created_at=requested_at, kind=NoteKind.ACTIVITY,
                        status=RequestStatus.OPEN, detailed_status=parent.detailed_status,
                        description=f"Reported again ({request.reference})"),
        ])
    if data.email or data.phone:
        Follower.objects.create(request=request, email=data.email, phone=data.phone, locale=data.locale)
        if parent is not None:  # the reporter of a duplicate hears when the original is done
            same_person = {"email": data.email} if data.email else {"email": "", "phone": data.phone}
            Follower.objects.get_or_create(request_id=parent.pk, **same_person,
                                           defaults={"phone": data.phone, "locale": data.locale, "via": "duplicate"})
    return request


def _store_media(request: ServiceRequest, uploads: list, base_url: str, stored: list[str]) -> None:
    """Save the photos; their URLs come first in media_urls (v2.1: files take precedence over media_url).
    Saved names go to ``stored`` so the caller can delete them if the transaction fails."""
    urls = []
    for upload, content_type, extension in uploads:
        upload.name = f"{request.reference}-{secrets.token_hex(4)}.{extension}"
        record = RequestMedia.objects.create(request=request, file=upload, content_type=content_type,
                                             size_bytes=upload.size)
        stored.append(record.file.name)
        urls.append(base_url.rstrip("/") + record.file.url)
    request.media_urls = urls + request.media_urls
    request.save(update_fields=["media_urls"])


def request_follow(*, request: ServiceRequest, email: str = "", phone: str = "", locale: str = "en") -> Follower:
    """Someone follows a request (a resident who found their problem already reported): they hear of each
    status change as its reporter does. Following twice with one email changes nothing."""
    if not (email or phone):
        raise IntakeError("an email address or a phone number is needed to follow a request")
    if email:
        follower, _ = Follower.objects.get_or_create(request=request, email=email,
                                                     defaults={"phone": phone, "locale": locale, "via": "subscriber"})
        return follower
    return Follower.objects.create(request=request, phone=phone[:40], locale=locale, via="subscriber")


# --- Status changes ---------------------------------------------------------------------------

class UpdateInvalid(ValueError):
    """A status change that cannot be made (unknown state, a closed case changed without reopening)."""


def request_status_change(
    *, request: ServiceRequest, detailed_status: str, description: str = "", media_urls: list[str] | None = None,
    author: str = "", at: dt.datetime | None = None, api_key: ApiKey | None = None,
    external_update_id: str | None = None,
) -> RequestNote:
    """Move a request to ``detailed_status`` (or just add a note when it stays), recording the step.

    Closing sets closed_at; reopening clears it. Followers are told (workorders.notifications).
    """
    if detailed_status not in DetailedStatus.values:
        raise UpdateInvalid(f"unknown status {detailed_status!r}")
    at = at or timezone.now()
    with transaction.atomic():
        locked = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        was_closed = locked.status == RequestStatus.CLOSED
        previous = locked.detailed_status
        closing = detailed_status in CLOSED_DETAILED
        if was_closed and not closing and detailed_status != DetailedStatus.REOPENED:
            detailed_status = DetailedStatus.REOPENED  # any open state on a closed case reopens it
        kind = (NoteKind.CLOSED if closing and not was_closed else NoteKind.REOPENED if was_closed and not closing
                else NoteKind.ACTIVITY)
        locked.detailed_status = detailed_status
        locked.status = RequestStatus.CLOSED if closing else RequestStatus.OPEN
        locked.closed_at = (locked.closed_at or at) if closing else None
        if description:
            locked.status_notes = description[:4000]
        locked.save(update_fields=["detailed_status", "status", "closed_at", "status_notes", "updated_at"])
        note = RequestNote.objects.create(
            request=locked, created_at=at, kind=kind, status=locked.status, detailed_status=detailed_status,
            description=description, media_urls=media_urls or [], author=author, api_key=api_key,
            external_update_id=external_update_id,
        )
        followers = list(locked.followers.all())
        if followers and (detailed_status != previous or kind != NoteKind.ACTIVITY):  # a comment tells nobody
            survey = None
            if kind == NoteKind.CLOSED and detailed_status in SURVEY_AFTER:
                survey = Survey.objects.create(request=locked, token=secrets.token_urlsafe(24))
            sent = notifications.notifications_create(request=locked, note=note, survey=survey,
                                                      followers=followers)
            transaction.on_commit(partial(_enqueue_notifications, [n.pk for n in sent]))
    for name in ("detailed_status", "status", "closed_at", "status_notes", "updated_at"):
        setattr(request, name, getattr(locked, name))
    return note


# Closures worth asking "was it fixed?" about (not duplicates, cancellations or answered inquiries).
SURVEY_AFTER = frozenset({DetailedStatus.FIXED, DetailedStatus.CLOSED, DetailedStatus.NO_FURTHER_ACTION,
                          DetailedStatus.NOT_RESPONSIBLE})


def _enqueue_notifications(ids: list[int]) -> None:
    for pk in ids:
        enqueue("workorders.tasks.notification_send_task", notification_id=pk)


def notification_send(*, notification: Notification) -> str:
    """Send one message; idempotent (a sent one is left alone). Returns the new status.

    The row is claimed ('sending', committed) before the message goes out and recorded after it did: a
    database connection cut after the send retries the record, never the send. Only a worker dying in that
    moment leaves a claim behind, which the sweeper sends again once stale, with the same Message-ID."""
    stale = timezone.now() - dt.timedelta(seconds=settings.FIELDSVC_NOTIFY_RETRY_AFTER_S)
    with transaction.atomic():
        row = Notification.objects.select_for_update().select_related("follower").get(pk=notification.pk)
        claimed_elsewhere = row.status == NotificationStatus.SENDING and row.claimed_at and row.claimed_at > stale
        if row.status not in (NotificationStatus.PENDING, NotificationStatus.SENDING) or claimed_elsewhere:
            return row.status
        row.status, row.claimed_at, row.attempts = NotificationStatus.SENDING, timezone.now(), row.attempts + 1
        row.save(update_fields=["status", "claimed_at", "attempts"])
    to = row.follower.email if row.channel == "email" else row.follower.phone
    try:
        sender = notifications.sender_for(row.channel)
        extra = {"message_id": notifications.message_id(row.pk)} if row.channel == "email" else {}
        sender.send(to=to, subject=row.subject, body=row.body, **extra)
    except Exception as exc:  # the gateway's failure is recorded; the sweeper tries again
        gave_up = row.attempts >= settings.FIELDSVC_NOTIFY_MAX_ATTEMPTS
        status = NotificationStatus.FAILED if gave_up else NotificationStatus.PENDING
        error = f"{type(exc).__name__}: {exc}"[:2000]
        outbox.record_after_send(Notification, row.pk, status=status, last_error=error)
        return status
    outbox.record_after_send(Notification, row.pk, status=NotificationStatus.SENT, sent_at=timezone.now(),
                             last_error="")
    return NotificationStatus.SENT


def notifications_pending_stale() -> list[int]:
    """Messages to hand out again: pending FIELDSVC_NOTIFY_RETRY_AFTER_S after they were written or last handed
    out (their task was lost or failed), and claims that old (the worker died while sending: pending again).
    Each is marked handed out now, so later sweeps leave it to its new task for as long again (re-sending
    every pending one at every sweep flooded the queue behind a backlog)."""
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.FIELDSVC_NOTIFY_RETRY_AFTER_S)
    pending, sending = NotificationStatus.PENDING, NotificationStatus.SENDING
    with transaction.atomic():
        ids = list(Notification.objects.select_for_update(skip_locked=True)
                   .filter(Q(status=pending, claimed_at__isnull=True, created_at__lt=cutoff)
                           | Q(status__in=[pending, sending], claimed_at__lt=cutoff))
                   .values_list("pk", flat=True)[:1000])
        Notification.objects.filter(pk__in=ids).update(status=pending, claimed_at=now)
    return ids


class SurveyInvalid(ValueError):
    """A survey answer that cannot be taken (already answered, satisfaction out of 1-5)."""


def survey_answer(*, survey: Survey, fixed: bool, satisfaction: int | None, comment: str = "") -> Survey:
    """Store the resident's answer; 'not fixed' reopens the request with their words."""
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise SurveyInvalid("satisfaction is 1 (very unhappy) to 5 (very happy)")
    try:
        comment = description_check(comment)
    except AnswerInvalid as exc:
        raise SurveyInvalid(str(exc).replace("description", "comment", 1)) from None
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        if locked.answered_at is not None:
            raise SurveyInvalid("this survey was already answered")
        locked.fixed, locked.satisfaction, locked.comment = fixed, satisfaction, comment
        locked.answered_at = timezone.now()
        locked.save()
        if not fixed:
            request = ServiceRequest.objects.get(pk=locked.request_id)
            if request.status == RequestStatus.CLOSED:
                words = f": {comment}" if comment else ""
                request_status_change(request=request, detailed_status=DetailedStatus.REOPENED,
                                      description=f"The resident says it is not fixed{words}", author="survey")
    return locked


def request_replay(*, service: Service, data: RequestInput, step_status: str | None = None,
                   step_at: dt.datetime | None = None, step_description: str = "") -> ServiceRequest:
    """Load one case of an earlier system's history through intake, then move it to its recorded state.

    A location outside the storage CRS's area (a mis-geocoded case) is dropped and the address kept.
    One transaction: an interrupted replay never leaves a case without its recorded state.
    """
    with transaction.atomic():
        return _replay(service, data, step_status, step_at, step_description)


def _replay(service, data, step_status, step_at, step_description) -> ServiceRequest:
    try:
        request, _ = request_create(service=service, data=data)
    except IntakeError:
        if data.lat is None:
            raise
        data.lat = data.long = None
        request, _ = request_create(service=service, data=data)
    if step_status and step_status != request.detailed_status:
        request_status_change(request=request, detailed_status=step_status, description=step_description,
                              author="replayed history", at=step_at)
    return request


# --- API keys -----------------------------------------------------------------------------------

def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, name: str, rate_per_minute: int | None = None, actor=None,
                   actor_label: str = "manage.py") -> tuple[ApiKey, str]:
    """A new key for a client; the key itself is returned once and only its hash is stored (the audit row
    names the key by its prefix)."""
    key = secrets.token_urlsafe(24)
    with transaction.atomic():
        record = ApiKey.objects.create(name=name, prefix=key[:8], key_sha256=api_key_hash(key),
                                       rate_per_minute=rate_per_minute)
        audit_record(action="api_key.create", actor=actor, actor_label=actor_label, object_type="api_key",
                     object_id=record.pk, summary=f"{name} ({record.prefix}…)",
                     after={"name": name, "prefix": record.prefix, "rate_per_minute": rate_per_minute})
    return record, key


def api_key_revoke(*, api_key: ApiKey, actor=None, actor_label: str = "manage.py") -> None:
    with transaction.atomic():
        api_key.active = False
        api_key.save(update_fields=["active"])
        audit_record(action="api_key.revoke", actor=actor, actor_label=actor_label, object_type="api_key",
                     object_id=api_key.pk, summary=f"{api_key.name} ({api_key.prefix}…)",
                     before={"active": True}, after={"active": False})


# --- Catalogue ----------------------------------------------------------------------------------

_SERVICE_FIELDS = ("name", "description", "keywords", "sla_hours", "informational", "snap_distance_m",
                   "work_order_mode", "close_on_complete", "task_minutes", "task_skills", "auto_dispatch")


@transaction.atomic
def catalogue_load(*, data: dict[str, Any]) -> int:
    """Create or update groups, services and their attributes from a catalogue document
    (fixtures/catalogue/services.yaml); returns the number of services. Re-loading is harmless."""
    groups = {}
    for group in data.get("groups", []):
        groups[group["code"]], _ = ServiceGroup.objects.update_or_create(
            code=group["code"], defaults={"name": group["name"], "i18n": group.get("i18n", {})}
        )
    departments = {d.code: d for d in Department.objects.all()}
    asset_types = {a.code: a for a in AssetType.objects.all()}
    services = {}
    for spec in data["services"]:
        if spec["department"] not in departments:
            raise ValueError(f"service {spec['code']}: unknown department {spec['department']!r}")
        values = {f: spec[f] for f in _SERVICE_FIELDS if f in spec}
        values.update(
            group=groups.get(spec.get("group")), department=departments[spec["department"]],
            service_type=spec.get("type", ServiceType.REALTIME), notice=spec.get("notice", ""),
            i18n=spec.get("i18n", {}), source_topics=spec.get("boston_topics", []),
        )
        service, _ = Service.objects.update_or_create(code=spec["code"], defaults=values)
        service.asset_types.set([asset_types[c] for c in spec.get("asset_types", [])])
        service.attributes.exclude(code__in=[a["code"] for a in spec.get("attributes", [])]).delete()
        for attribute in spec.get("attributes", []):
            ServiceAttribute.objects.update_or_create(
                service=service, code=attribute["code"],
                defaults={k: attribute.get(k, default) for k, default in (
                    ("variable", True), ("datatype", "string"), ("required", False), ("order", 1),
                    ("description", ""), ("datatype_description", ""), ("values", []),
                )} | {"i18n": _attribute_i18n(attribute["code"], spec.get("i18n", {}))},
            )
        services[spec["code"]] = service
    for spec in data["services"]:
        services[spec["code"]].related.set([services[c] for c in spec.get("related", []) if c in services])
    return len(services)


def _attribute_i18n(code: str, service_i18n: dict) -> dict:
    """The catalogue file keeps attribute translations under each language of the service."""
    return {
        locale: texts["attributes"][code]
        for locale, texts in service_i18n.items()
        if code in (texts.get("attributes") or {})
    }


_RULE_CONDITIONS = ("utility_kinds", "utility_types", "utility_within_m", "utility_max_depth_m",
                    "utility_min_age_years", "words", "hour_from", "hour_to", "weekdays")


@transaction.atomic
def routing_rules_load(*, data: dict[str, Any]) -> int:
    """Create or update routing rules (by name) from a document like fixtures/catalogue/routing_rules.yaml;
    returns how many. Codes name departments, services and asset types; districts go by name."""
    departments = {d.code: d for d in Department.objects.all()}
    services = {s.code: s for s in Service.objects.all()}
    asset_types = {a.code: a for a in AssetType.objects.all()}

    def pick(table: dict, codes, what: str, rule: str) -> list:
        unknown = [c for c in codes if c not in table]
        if unknown:
            raise ValueError(f"routing rule {rule!r}: unknown {what} {unknown[0]!r}")
        return [table[c] for c in codes]

    count = 0
    for spec in data.get("routing_rules", []):
        name = spec["name"]
        values = {k: spec[k] for k in _RULE_CONDITIONS if k in spec}
        values.update(order=spec["order"], note=spec.get("note", ""), active=spec.get("active", True),
                      priority_bump=spec.get("priority_bump", 0))
        values["department"] = pick(departments, [spec["department"]], "department", name)[0] \
            if spec.get("department") else None
        values["reclassify_to"] = pick(services, [spec["reclassify_to"]], "service", name)[0] \
            if spec.get("reclassify_to") else None
        rule = RoutingRule.objects.filter(name=name).first() or RoutingRule(name=name)
        for key, value in values.items():
            setattr(rule, key, value)
        try:
            rule.full_clean(exclude=["services", "asset_types", "districts"])
        except ValidationError as exc:
            raise ValueError(f"routing rule {name!r}: {exc.message_dict}") from None
        rule.save()
        rule.services.set(pick(services, spec.get("services", []), "service", name))
        rule.asset_types.set(pick(asset_types, spec.get("asset_types", []), "asset type", name))
        districts = list(District.objects.filter(name__in=spec.get("districts", [])))
        if len(districts) < len(set(spec.get("districts", []))):
            raise ValueError(f"routing rule {name!r}: unknown district among {spec['districts']}")
        rule.districts.set(districts)
        count += 1
    RoutingRule.objects.filter(name__in=[s["name"] for s in data.get("routing_rules", [])]).update(
        updated_at=timezone.now())  # after the many-to-many conditions: processes re-read the table
    return count
