"""What a crew's tablet sends, applied once each: status changes (through the state machine, with the
device's times and positions), field edits (merged, or kept as conflicts), notes, materials and position
pings; one at a time or as a batch from its outbox, each with its own result.

Append-only records (notes, materials, photos, pings) never conflict: their id is the device's UUID.
A status change no longer allowed (the work was cancelled meanwhile) is rejected with a reason and
stays in the tablet's outbox; nothing is overwritten silently.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import Max
from django.utils import dateparse, timezone

from gis import crs
from workorders import field_docs, field_edits, idempotency, permissions
from workorders.crews import crew_position_record
from workorders.models import MaterialUsage, WorkOrder, WorkOrderEvent, WorkOrderNote
from workorders.work import TransitionRefused, work_order_transition

TYPES = ("transition", "edit", "note", "material", "position")


class MutationInvalid(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Mutation:
    id: str
    type: str
    work_order: int | None
    occurred_at: dt.datetime
    position: Point | None
    accuracy_m: float | None
    base_version: int | None
    data: dict


def _uuid(value: Any, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError) as exc:
        raise MutationInvalid("invalid", f"{what} is a UUID") from exc


_EARLIEST, _LATEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def _when(value: Any) -> dt.datetime:
    try:
        parsed = dateparse.parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None  # well formed but not a date (month 13)
    if parsed is None:
        raise MutationInvalid("invalid", "occurred_at is an ISO 8601 date and time")
    parsed = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    if not _EARLIEST <= parsed < _LATEST:  # a tablet with a dead clock battery says 1970
        raise MutationInvalid("invalid", "occurred_at is not a plausible time (2000-2099)")
    return parsed


def position_parse(value: Any) -> tuple[Point | None, float | None]:
    """{"lon", "lat", "accuracy_m"} (WGS84) as a storage-CRS point; None when absent."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise MutationInvalid("invalid", "position is {lon, lat, accuracy_m}")
    try:
        lon, lat = float(value["lon"]), float(value["lat"])
        accuracy = None if value.get("accuracy_m") is None else float(value["accuracy_m"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MutationInvalid("invalid", "position has numbers lon and lat") from exc
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (accuracy is not None and not 0 <= accuracy < 1e6):
        raise MutationInvalid("invalid", "position is lon -180..180, lat -90..90, accuracy_m >= 0")
    x, y = crs.storage_point(lon, lat)
    if not crs.in_storage_area(x, y):
        raise MutationInvalid("invalid", "position is outside the area this server covers")
    return Point(x, y, srid=crs.storage_srid()), accuracy


def _an_id(value: Any) -> bool:
    """A positive integer the database can hold (a bigger one would be a 500, not a clear refusal)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**62


def _text(value: Any, *, most: int) -> bool:
    """Text PostgreSQL can store (no NUL characters) of at most ``most`` characters."""
    return isinstance(value, str) and len(value) <= most and "\x00" not in value


def mutation_parse(raw: Any) -> Mutation:
    if not isinstance(raw, dict):
        raise MutationInvalid("invalid", "a mutation is an object")
    kind = raw.get("type")
    if kind not in TYPES:
        raise MutationInvalid("invalid", f"type is one of {', '.join(TYPES)}")
    work_order = raw.get("work_order")
    if kind != "position" and not _an_id(work_order):
        raise MutationInvalid("invalid", "work_order is the work order's id")
    base = raw.get("base_version")
    if kind == "edit" and not _an_id(base):
        raise MutationInvalid("invalid", "an edit says the version it was made on (base_version)")
    data = raw.get("data", {})
    if not isinstance(data, dict):
        raise MutationInvalid("invalid", "data is an object")
    point, accuracy = position_parse(raw.get("position"))
    if kind == "position" and point is None:
        raise MutationInvalid("invalid", "a position mutation has a position")
    return Mutation(_uuid(raw.get("id"), "id"), kind, work_order if kind != "position" else None,
                    _when(raw.get("occurred_at")), point, accuracy, base, data)


def _label(user) -> str:
    return user.get_full_name() or user.get_username()


def _result(m: Mutation, status: str, **more) -> dict:
    return {"id": m.id, "status": status} | {k: v for k, v in more.items() if v is not None}


def _rejected(m: Mutation, code: str, detail: str, http: int) -> tuple[int, dict]:
    return http, _result(m, "rejected", code=code, detail=detail)


def mutation_apply(*, user, m: Mutation, device_id: str = "") -> tuple[int, dict]:
    """Do one mutation; (HTTP status, result). Refusals are results, not exceptions: a batch goes on."""
    if m.type == "position":
        crews = field_docs.crews_of(user)
        if not crews:
            return _rejected(m, "not_on_crew", "only crew members send positions", 403)
        now = timezone.now()
        for crew_id in crews:
            crew_position_record(crew_id=crew_id, point=m.position, at=min(m.occurred_at, now),
                                 accuracy_m=m.accuracy_m)
        return 201, _result(m, "applied")
    wo = WorkOrder.objects.filter(pk=m.work_order).select_related("department").first()
    if wo is None or not permissions.can_see(user, wo):
        return _rejected(m, "not_assigned", f"work order {m.work_order} is not (or no longer) your crew's", 404)
    try:
        return {"transition": _transition, "edit": _edit, "note": _note, "material": _material}[m.type](
            user, wo, m, device_id)
    except field_edits.EditInvalid as refused:
        return _rejected(m, refused.code, refused.message, 400)
    except MutationInvalid as refused:
        return _rejected(m, refused.code, refused.message, 400)


def _transition(user, wo: WorkOrder, m: Mutation, device_id: str) -> tuple[int, dict]:
    to = m.data.get("to")
    for name in ("note", "resolution", "hold_reason"):
        if name in m.data and not _text(m.data[name], most=4000):
            raise MutationInvalid("invalid", f"{name} is text of at most 4000 characters")
    if WorkOrderEvent.objects.filter(client_id=m.id).exists():
        return 200, _result(m, "applied", version=WorkOrder.objects.get(pk=wo.pk).version)
    if wo.status == to:
        # Already there (another tablet of the crew did it): nothing to move, but its words are kept.
        return 200, _result(m, "noop", code="already", detail=f"work order {wo.pk} is {wo.status} already",
                            version=wo.version, note=_words_kept(user, wo, m, device_id))
    if not isinstance(to, str) or not permissions.can_move(user, wo, to):
        return _rejected(m, "not_permitted", f"you may not move work order {wo.pk} to {str(to)[:20]}", 403)
    now = timezone.now()
    # History and SLA use the device's time, but never later than the server's clock (a tablet set
    # ahead) nor before the work order's last event (one set behind): device_at keeps its word.
    last = wo.events.aggregate(last=Max("at"))["last"]
    at = max(min(m.occurred_at, now), last or m.occurred_at)
    try:
        moved = work_order_transition(
            work_order_id=wo.pk, to=to, actor=user, actor_label=_label(user), note=str(m.data.get("note", ""))[:4000],
            hold_reason=str(m.data.get("hold_reason", "")), resolution=str(m.data.get("resolution", "")),
            position=m.position, at=at,
            device={"device_at": m.occurred_at, "received_at": now, "client_id": m.id, "device_id": device_id})
    except TransitionRefused as refused:
        return 409, _result(m, "rejected", code=refused.code, detail=refused.message,
                            note=_words_kept(user, wo, m, device_id))
    return 200, _result(m, "applied", version=moved.version)


def _words_kept(user, wo: WorkOrder, m: Mutation, device_id: str) -> str | None:
    """A status change not made still leaves its note on the work order: what the crew wrote is not lost."""
    if not str(m.data.get("note", "")).strip():
        return None
    _note(user, wo, Mutation(m.id, "note", wo.pk, m.occurred_at, m.position, None, None,
                             {"text": str(m.data["note"])[:4000]}), device_id)
    return m.id


def _edit(user, wo: WorkOrder, m: Mutation, device_id: str) -> tuple[int, dict]:
    staff = user.is_superuser or bool(permissions.roles(user, wo.department_id) & permissions.ASSIGNERS)
    changes = field_edits.edit_paths(m.data, staff=staff)
    done = field_edits.work_order_edit(
        work_order_id=wo.pk, changes=changes, base_version=m.base_version, actor=user, actor_label=_label(user),
        device_id=device_id, mutation_id=m.id, occurred_at=m.occurred_at)
    return 200, _result(m, done.status, version=done.work_order.version,
                        conflicts=[field_docs.conflict_json(c) for c in done.conflicts] or None)


def _note(user, wo: WorkOrder, m: Mutation, device_id: str) -> tuple[int, dict]:
    text = m.data.get("text")
    if not _text(text, most=4000) or not text.strip():
        raise MutationInvalid("invalid", "a note is text of 1 to 4000 characters")
    row, made = WorkOrderNote.objects.get_or_create(
        pk=_uuid(m.data.get("id", m.id), "the note's id"),
        defaults={"work_order": wo, "text": text, "author": user, "author_label": _label(user),
                  "device_id": device_id, "occurred_at": min(m.occurred_at, timezone.now()), "position": m.position})
    if row.work_order_id != wo.pk:
        raise MutationInvalid("id_taken", f"note {row.pk} belongs to another work order")
    return (201 if made else 200), _result(m, "applied", record=str(row.pk))


def _material(user, wo: WorkOrder, m: Mutation, device_id: str) -> tuple[int, dict]:
    d = m.data
    item, unit, task = d.get("item"), d.get("unit", ""), d.get("task")
    if not _text(item, most=120) or not item.strip():
        raise MutationInvalid("invalid", "item is text of 1 to 120 characters")
    if not _text(unit, most=20):
        raise MutationInvalid("invalid", "unit is text of at most 20 characters")
    try:
        quantity = Decimal(str(d.get("quantity")))
    except InvalidOperation as exc:
        raise MutationInvalid("invalid", "quantity is a number") from exc
    if not quantity.is_finite() or not 0 < quantity < 1_000_000:
        raise MutationInvalid("invalid", "quantity is a number above 0 and below 1,000,000")
    if task is not None and not (_an_id(task) and wo.tasks.filter(pk=task).exists()):
        raise MutationInvalid("unknown_task", f"work order {wo.pk} has no task {str(task)[:20]}")
    row, made = MaterialUsage.objects.get_or_create(
        pk=_uuid(d.get("id", m.id), "the material's id"),
        defaults={"work_order": wo, "task_id": task, "item": item.strip(),
                  "quantity": quantity.quantize(Decimal("0.001")), "unit": unit, "author": user,
                  "author_label": _label(user), "device_id": device_id,
                  "occurred_at": min(m.occurred_at, timezone.now()), "position": m.position})
    if row.work_order_id != wo.pk:
        raise MutationInvalid("id_taken", f"material {row.pk} belongs to another work order")
    return (201 if made else 200), _result(m, "applied", record=str(row.pk))


def mutation_once(*, user, raw: Any, device_id: str = "", key: str | None = None) -> tuple[int, dict, bool]:
    """One mutation, done at most once per key (its id, or the request's Idempotency-Key):
    (HTTP status, result, replayed)."""
    try:
        m = mutation_parse(raw)
    except MutationInvalid as refused:
        mid = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        result = {"id": mid and mid[:60], "status": "rejected", "code": refused.code, "detail": refused.message}
        return 400, result, False
    try:
        with transaction.atomic():
            answer = idempotency.once(user=user, key=key or f"mutation:{m.id}", payload=raw,
                                      action=lambda: mutation_apply(user=user, m=m, device_id=device_id))
    except idempotency.KeyReused:
        return 422, _result(m, "rejected", code="idempotency_key_reused",
                            detail="this id was used before for a different change"), False
    except idempotency.InFlight:
        return 409, _result(m, "retry", code="in_flight", detail="the same change is being done: send it again"), False
    return answer.status_code, answer.body | ({"replayed": True} if answer.replayed else {}), answer.replayed


def sync_push(*, user, device_id: str, mutations: list) -> list[dict]:
    """A tablet's outbox, in order, each in its own transaction: one refusal does not stop the others."""
    return [mutation_once(user=user, raw=raw, device_id=device_id)[1] for raw in mutations]


def field_sync_prune() -> dict:
    """Forget what tablets no longer need: old feed rows, expired idempotency keys, abandoned uploads."""
    from workorders import field_feed
    from workorders.uploads import uploads_expire

    return {"feed_rows": field_feed.feed_prune(), "idempotency_keys": idempotency.idempotency_prune(),
            "uploads": uploads_expire()}
