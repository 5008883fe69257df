"""Fuzzing fixtures: hypothesis profiles, the case tally, a small city with staff and a crew, and a snapshot
of the tables a rejected write must leave alone.

FIELDSVC_FUZZ_PROFILE picks the profile: ``ci`` (default suite, bounded and deterministic) or ``big``
(``make fuzz``: over 10,000 cases in all); FIELDSVC_FUZZ_EXAMPLES and FIELDSVC_FUZZ_PER_OPERATION override.
"""

import base64
import copy
import os

import pytest
from django.db import connection
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from tests.field.crew_setup import catalogue, dispatched, people, report  # noqa: F401, F811
from tests.fuzz import tally
from tests.open311.conftest import CATALOGUE as OPEN311_CATALOGUE
from tests.work.conftest import CATALOGUE as WORK_CATALOGUE

_QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
          HealthCheck.data_too_large, HealthCheck.large_base_example]
PROFILE = os.environ.get("FIELDSVC_FUZZ_PROFILE", "ci")
# Cases per hypothesis test, and per OpenAPI operation (about 60 of them): ci keeps the default suite's share
# near a minute, big (make fuzz) makes well over 10,000 cases in all.
EXAMPLES, PER_OPERATION = {"ci": (40, 8), "big": (450, 130)}[PROFILE]
EXAMPLES = int(os.environ.get("FIELDSVC_FUZZ_EXAMPLES", EXAMPLES))
PER_OPERATION = int(os.environ.get("FIELDSVC_FUZZ_PER_OPERATION", PER_OPERATION))
# derandomize: the default suite sees the same cases every run (a failure there is reproducible as is).
settings.register_profile("ci", max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("big", max_examples=EXAMPLES, deadline=None, database=None,
                          suppress_health_check=_QUIET, print_blob=True)
settings.load_profile(PROFILE)


def pytest_terminal_summary(terminalreporter):
    if not tally.cases:
        return
    found = tally.summary()
    terminalreporter.write_line(f"fuzz ({PROFILE}): {found['cases']} cases, {found['server_errors']} server "
                                f"errors, {found['refused_writes_checked']} refused writes checked unwritten; "
                                f"{found['by_kind']}")
    tally.write()


# Open311's catalogue (every attribute datatype) and the work catalogue (lamps that make work orders), as one.
CATALOGUE = copy.deepcopy(OPEN311_CATALOGUE)
CATALOGUE["services"] = [s for s in CATALOGUE["services"] if s["code"] != "streetlight-outage"] + [
    s for s in WORK_CATALOGUE["services"] if s["code"] not in {"pothole", "trash-schedule"}]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Basic auth checks a password on every call: PBKDF2's ~0.7 s would be most of a fuzz run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def in_process_wsgi():
    """Requests through the WSGI handler stay in the test's transaction: Django closes the connection at each
    request's start and end otherwise (its test client does the same)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def city(registry, settings, tmp_path, people, dispatched, in_process_wsgi):  # noqa: F811
    """The catalogue, an API key, a dispatcher (staff, Basic auth), a crew member (token) with two work orders,
    open requests: every endpoint is reachable with valid credentials."""
    from workorders import services

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FIELDSVC_OPEN311_RATE_PER_KEY = settings.FIELDSVC_OPEN311_RATE_PER_ADDRESS = 10**9
    services.catalogue_load(data=CATALOGUE)
    _, key = services.api_key_create(name="fuzz client")
    dana = people["dana"]
    dana.is_staff = True
    dana.save(update_fields=["is_staff"])
    orders = [dispatched(dx=2.0), dispatched(dx=42.0)]
    token = Token.objects.create(user=people["ana"])
    return {"api_key": key, "people": people, "work_orders": orders, "token": token.key,
            "dispatcher": basic("dana", "pw-dana"), "crew_member": f"Token {token.key}",
            "requests": [wo.requests.first().pk for wo in orders]}


# Tables a refused write must not touch. Left out on purpose: idempotency answers (a client's retry of a
# refused write gets the same refusal), tokens and sessions (signing in is not the write).
_WATCHED_APPS = ("gis", "workorders", "tiles")
_NOT_WATCHED = {"workorders_idempotentanswer", "workorders_idempotencyrecord"}


def _tables() -> list[str]:
    from django.apps import apps

    names = []
    for label in _WATCHED_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.managed and not model._meta.proxy and model._meta.db_table not in _NOT_WATCHED:
                names.append(model._meta.db_table)
    return sorted(set(names))


@pytest.fixture
def snapshot():
    """A function giving {table: (rows, md5 of the rows)} for the watched tables, in one query."""
    tables = _tables()
    sql = " UNION ALL ".join(
        f"SELECT '{t}', count(*), md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM {t} x"
        for t in tables)

    def take() -> dict[str, tuple[int, str]]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return {name: (rows, digest) for name, rows, digest in cursor.fetchall()}

    return take


def changed(before: dict, after: dict) -> list[str]:
    return sorted(t for t in before if before[t] != after.get(t))
