"""Reads from the streaming replica: the router, which requests may use it, and read-your-writes.

Most reads must see the write just made, so nothing goes to the replica by default: requests to the
read-heavy paths (FIELDSVC_REPLICA_PATHS: WFS, nearby cases, statistics) and the tiles a view builds
(``reads_on``) have their reads sent there by the router; raw SQL asks ``django.db.router.db_for_read``. The
replica is used only when it is configured and on, answers, is at most FIELDSVC_REPLICA_MAX_LAG_S behind,
and the client has not written within FIELDSVC_READ_YOUR_WRITES_S (a signed cookie, the user, the address).
A replica that fails mid-request is marked down and the view runs again on the primary: never a 500.
"""

import time
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

T = TypeVar("T")
REPLICA = "replica"
COOKIE = "fieldsvc_wrote"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

_reading: ContextVar[str | None] = ContextVar("fieldsvc_read_alias", default=None)

# Seconds the replica is behind (0 when it has replayed all it received from a live stream), and how far it
# has replayed (an LSN as a number). The walreceiver not streaming counts as behind since the last replay.
_STATE_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                 AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9) END,
       (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint
"""


class ReplicaRouter:
    """Reads go where the current request chose (``serve_reads``), otherwise to the primary; writes and
    migrations always to the primary."""

    def db_for_read(self, model, **hints):
        return _reading.get()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, copied

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT_DB_ALIAS


@dataclass
class ReplicaState:
    checked_at: float
    usable: bool
    lag_s: float | None = None
    replay_lsn: int | None = None
    error: str = ""


_states: dict[str, ReplicaState] = {}


def configured() -> bool:
    return settings.FIELDSVC_REPLICA_READS and REPLICA in settings.DATABASES


def replica_state(*, fresh: bool = False) -> ReplicaState:
    """The replica's lag as this process last saw it (looked at again past FIELDSVC_REPLICA_CHECK_S)."""
    now = time.monotonic()
    state = _states.get(REPLICA)
    if state and not fresh:
        trust_s = settings.FIELDSVC_REPLICA_CHECK_S * (1 if state.usable else 5)
        if now - state.checked_at < trust_s:
            return state
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(_STATE_SQL)
            _, lag_s, replay_lsn = cursor.fetchone()
        state = ReplicaState(now, float(lag_s) <= settings.FIELDSVC_REPLICA_MAX_LAG_S, float(lag_s), replay_lsn)
    except DatabaseError as exc:
        connections[REPLICA].close()
        state = ReplicaState(now, False, error=str(exc).strip().splitlines()[0][:200] if str(exc) else "down")
    _states[REPLICA] = state
    return state


def mark_down(error: str) -> None:
    _states[REPLICA] = ReplicaState(time.monotonic(), False, error=error[:200])


def forget() -> None:
    """Look at the replica again on the next request (tests, after changing its connection)."""
    _states.clear()


def _address(request: HttpRequest) -> str:
    """The client's address as the rate limits see it: behind a load balancer, not the balancer's (every
    write would otherwise send every client to the primary)."""
    from workorders.open311.throttles import client_address

    return client_address(request)


def _marker_keys(request: HttpRequest) -> list[str]:
    keys = [f"wrote:addr:{_address(request)}"]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        keys.append(f"wrote:user:{user.pk}")
    return keys


def wrote_recently(request: HttpRequest) -> bool:
    """Whether this client wrote within FIELDSVC_READ_YOUR_WRITES_S: its signed cookie, or a mark for its
    user or address (API clients and GIS desktops often keep no cookies)."""
    window_s = settings.FIELDSVC_READ_YOUR_WRITES_S
    if request.get_signed_cookie(COOKIE, default=None, salt=COOKIE, max_age=window_s) is not None:
        return True
    try:
        return any(cache.get_many(_marker_keys(request)).values())
    except Exception:  # noqa: BLE001 - cache down: no marks to be seen, so read from the primary
        return True


def read_alias(request: HttpRequest, *, min_lsn: int | None = None) -> str:
    """Where this request's reads should go: the replica when it may, else the primary. ``min_lsn``: the
    replica must have replayed at least this far (a tile cached after an edit must show the edit)."""
    if not configured() or request.method not in SAFE_METHODS or wrote_recently(request):
        return DEFAULT_DB_ALIAS
    state = replica_state()
    if state.usable and min_lsn and (state.replay_lsn or 0) < min_lsn:
        state = replica_state(fresh=True)
    if not state.usable or (min_lsn and (state.replay_lsn or 0) < min_lsn):
        return DEFAULT_DB_ALIAS
    return REPLICA


def primary_lsn() -> int:
    """The primary's current WAL position, as a number (what a replica must have replayed to show a write
    committed before now)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")
        return cursor.fetchone()[0]


@contextmanager
def reads_on(alias: str):
    """ORM reads (and raw SQL that asks the router) go to ``alias`` inside the block."""
    token = _reading.set(None if alias == DEFAULT_DB_ALIAS else alias)
    try:
        yield
    finally:
        _reading.reset(token)


def read_with(alias: str, read: Callable[[], T]) -> T:
    """``read()`` with its reads on ``alias``; again on the primary if the replica fails meanwhile."""
    try:
        with reads_on(alias):
            return read()
    except DatabaseError as exc:
        if alias == DEFAULT_DB_ALIAS:
            raise
        mark_down(str(exc).strip() or type(exc).__name__)
        connections[alias].close()
    return read()


def _routed(request: HttpRequest) -> bool:
    return request.method in SAFE_METHODS and request.path_info.startswith(tuple(settings.FIELDSVC_REPLICA_PATHS))


class ReplicaReadsMiddleware:
    """Requests to the read-heavy paths (FIELDSVC_REPLICA_PATHS) read from the replica when ``read_alias``
    allows; a streamed answer keeps reading there until it is closed. A replica that fails while the view
    runs is marked down and the view runs again on the primary (``process_exception``).

    After a write that succeeded, the client reads from the primary for FIELDSVC_READ_YOUR_WRITES_S: a signed
    cookie for browsers, a mark in the shared cache for its user and its address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _routed(request) and configured():
            alias = read_alias(request)
            token = _reading.set(None if alias == DEFAULT_DB_ALIAS else alias)
            response = self.get_response(request)
            if getattr(response, "streaming", False) and _reading.get() is not None:
                response._resource_closers.append(lambda: _reading.set(None))  # rows read as the body is sent
            else:
                _reading.reset(token)
            return response
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and response.status_code < 400 and configured():
            self.mark_written(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        alias = _reading.get()
        if alias is None or not isinstance(exception, DatabaseError):
            return None
        mark_down(str(exception).strip() or type(exception).__name__)
        connections[alias].close()
        _reading.set(None)
        match = request.resolver_match
        return match.func(request, *match.args, **match.kwargs)  # once more, on the primary

    @staticmethod
    def mark_written(request: HttpRequest, response: HttpResponse) -> None:
        window_s = settings.FIELDSVC_READ_YOUR_WRITES_S
        response.set_signed_cookie(COOKIE, "1", salt=COOKIE, max_age=int(window_s) + 1, httponly=True,
                                   samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
        try:
            cache.set_many(dict.fromkeys(_marker_keys(request), 1), timeout=window_s)
        except Exception:  # noqa: BLE001 - cache down: readers then use the primary anyway (wrote_recently)
            pass
