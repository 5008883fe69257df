"""The change feed a tablet pulls: what changed in its crews' work since its cursor, as documents and
tombstones (CouchDB's _changes, ODK's entity list updates).

Rows come from triggers (migration 0016). A sequence number alone cannot be a cursor: a transaction
that took seq 9 may commit after one that took seq 10, and a reader that had passed 10 would never see 9.
So the feed is read in (transaction id, seq) order and only up to the oldest transaction still running in
this database: every transaction below it has finished, so nothing can appear behind the cursor.
"""

import datetime as dt
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from workorders import field_docs
from workorders.models import SyncChange

# The oldest transaction still running in this database (others cannot write the feed; counting them would
# let one long transaction elsewhere in the cluster stall every tablet), else the next transaction id.
# pg_stat_activity gives 32-bit xids: matched against the snapshot's 64-bit ones by their low bits.
_XMIN = """(WITH snap AS (SELECT pg_current_snapshot() AS s),
     here AS (SELECT backend_xid::text AS xid FROM pg_stat_activity
              WHERE datname = current_database() AND backend_xid IS NOT NULL)
SELECT coalesce(min(x), pg_snapshot_xmax((SELECT s FROM snap)))::text::bigint
  FROM snap, pg_snapshot_xip(snap.s) x WHERE (x::text::bigint % 4294967296)::text IN (SELECT xid FROM here))"""


class CursorInvalid(ValueError):
    """Not a cursor this server gave out."""


class CursorExpired(ValueError):
    """Older than the feed keeps: download the work again."""


@dataclass(frozen=True)
class Cursor:
    xid: int
    seq: int
    issued: int  # unix seconds: cursors older than the feed's retention are refused

    def __str__(self) -> str:
        return f"{self.xid}-{self.seq}-{self.issued}"


def cursor_parse(text: str) -> Cursor:
    try:
        xid, seq, issued = (int(part) for part in text.split("-"))
    except ValueError as exc:
        raise CursorInvalid(f"{text[:40]!r} is not a feed cursor") from exc
    if min(xid, seq, issued) < 0:
        raise CursorInvalid(f"{text[:40]!r} is not a feed cursor")
    if issued < time.time() - settings.FIELDSVC_FIELD_FEED_KEEP_DAYS * 86_400:
        raise CursorExpired("the feed no longer goes back that far")
    return Cursor(xid, seq, issued)


def cursor_now() -> Cursor:
    """Where a snapshot read after this call continues: every transaction below it has finished (so the
    snapshot sees it); changes from the others come in the feed (perhaps twice, which is harmless)."""
    with connection.cursor() as c:
        c.execute(f"SELECT {_XMIN}")
        return Cursor(c.fetchone()[0], 0, int(time.time()))


@dataclass
class Page:
    changes: list[dict]
    next_cursor: Cursor
    has_more: bool


def changes_since(user, *, crew_ids: list[int], since: Cursor, limit: int = 200) -> Page:
    """The changes to the crews' work after ``since``: each work order once, as its document now if it is
    in their scope, else as a tombstone; each changed plan once."""
    table = SyncChange._meta.db_table
    # sync_change_feed_idx (crew, xid, seq) serves the range and the order.
    with connection.cursor() as c:
        c.execute(f"SELECT {_XMIN}")
        xmin = c.fetchone()[0]
        c.execute(f"SELECT xid, seq, entity, entity_id, crew_id FROM {table} WHERE crew_id = ANY(%s) "
                  "AND (xid, seq) > (%s, %s) AND xid < %s ORDER BY xid, seq LIMIT %s",
                  [crew_ids, since.xid, since.seq, xmin, limit + 1])
        rows = c.fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    if has_more:
        last = rows[-1]
        next_cursor = Cursor(last[0], last[1], since.issued)
    else:
        next_cursor = Cursor(max(xmin, since.xid), 0, int(time.time()))
    return Page(_render(user, crew_ids, rows), next_cursor, has_more)


def _render(user, crew_ids: list[int], rows: list[tuple]) -> list[dict]:
    order: dict[tuple[str, int], int] = {}
    for n, (_, _, entity, entity_id, _) in enumerate(rows):
        order[(entity, entity_id)] = n  # the last change of each decides its place
    keys = sorted(order, key=order.get)
    work_ids = [i for e, i in keys if e == "work_order"]
    in_scope = set(field_docs.in_scope(crew_ids).filter(pk__in=work_ids).values_list("pk", flat=True))
    docs = field_docs.documents(user, sorted(in_scope))
    plan_crews = [i for e, i in keys if e == "plan" and i in crew_ids]
    plans = {p["crew"]["id"]: p for p in field_docs.plans(plan_crews)} if plan_crews else {}
    out = []
    for entity, entity_id in keys:
        if entity == "work_order" and entity_id in docs:
            doc = docs[entity_id]
            out.append({"type": entity, "id": entity_id, "op": "upsert", "version": doc["version"], "data": doc})
        elif entity == "work_order":
            out.append({"type": entity, "id": entity_id, "op": "delete", "reason": "out_of_scope"})
        elif entity == "plan" and entity_id in plans:
            out.append({"type": entity, "id": entity_id, "op": "upsert", "data": plans[entity_id]})
    return out


def feed_prune(*, now: dt.datetime | None = None) -> int:
    """Forget feed rows the oldest valid cursor no longer needs (a day's margin for long transactions)."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.FIELDSVC_FIELD_FEED_KEEP_DAYS + 1)
    deleted, _ = SyncChange.objects.filter(at__lt=cutoff).delete()
    return deleted
