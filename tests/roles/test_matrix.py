"""The permission matrix (tests/roles/matrix.py) against the real app and PostGIS: every cell one request as that
role, its outcome checked, and no personal data or secret in any answer unless the row says the role needs it.
Every URL route, WFS feature type and tile layer must be in the matrix."""

import json
import math

import mapbox_vector_tile
import pytest
import yaml
from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver

from tests.conftest import FIXTURES
from tests.roles import matrix
from tests.roles.world import CREW_NAMES, REPORTER_MARKERS, X_SEEN, Y_SEEN, World, build
from tiles.layers import LAYERS

ASSET_TYPES = sorted(t["code"] for t in yaml.safe_load((FIXTURES / "registry.yaml").read_text())["asset_types"])
GIS_EDITABLE = {"registry.asset", "registry.utilityline", "registry.utilitystructure"}
ADMIN_MODELS = sorted((m._meta.app_label, m._meta.model_name) for m in admin.site._registry)
ROWS = matrix.ROWS + matrix.feature_type_rows(ASSET_TYPES) + matrix.admin_rows(ADMIN_MODELS, GIS_EDITABLE)
CELLS = [(r, role) for r in ROWS for role in matrix.ANY]
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSIONS: dict[str, str] = {}  # role -> session key (the world's sign-ins)


def _route_names(resolver=None, namespace: str = "") -> set[str]:
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _route_names(pattern, inner)
        else:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_url_route_is_in_the_matrix():
    covered = {r.route for r in ROWS}
    # The admin's other pages (add, change, history…) sit behind the same admin_view as its lists.
    missing = {name for name in _route_names() if not name.startswith("admin:")} - covered
    assert not missing, f"add these routes to tests/roles/matrix.py: {sorted(missing)}"
    assert {f"admin:{a}_{m}_changelist" for a, m in ADMIN_MODELS} <= covered


def test_every_tile_layer_is_in_the_matrix_as_public_or_staff():
    assert set(matrix.PUBLIC_LAYERS) == {n for n, layer in LAYERS.items() if not layer.staff_only}
    assert set(matrix.STAFF_LAYERS) == {n for n, layer in LAYERS.items() if layer.staff_only}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction that is rolled back at the end; each cell runs in a
    savepoint of its own (the db fixture), so writes never leak into the next cell."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            cache.clear()  # tiles cached by earlier runs would be of other rows
            with override_settings(PASSWORD_HASHERS=FAST_HASHER):
                built = build()
            for role, user in built.users.items():  # signed in once: each cell sends the session's cookie
                if user is not None:
                    client = Client()
                    client.force_login(user)
                    SESSIONS[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield built
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def test_every_wfs_feature_type_is_in_the_matrix(world, db):
    client = Client()
    client.force_login(world.users["admin"])
    answer = client.get(matrix.WFS + "GetCapabilities")
    names = set(__import__("re").findall(r"<Name>fieldsvc:(\w+)</Name>", answer.content.decode()))
    covered = {r.variant.split(" ")[1] for r in ROWS if r.variant.startswith("GetFeature ")}
    assert names and names <= covered, sorted(names - covered)


@pytest.fixture
def no_rate_limits(settings):
    """A thousand Open311 calls from one address within a minute are the matrix, not an abuser; the crews' sign-in
    checks a password with a cheap hash, and /health does not wait a second for workers the tests do not run."""
    settings.FIELDSVC_OPEN311_RATE_PER_ADDRESS = settings.FIELDSVC_OPEN311_RATE_PER_KEY = 10**6
    settings.PASSWORD_HASHERS = FAST_HASHER
    settings.FIELDSVC_HEALTH_WORKER_TIMEOUT_S = 0.05


def _tile(lon: float, lat: float, z: int = 15) -> str:
    n = 2 ** z
    return f"{z}/{int((lon + 180) / 360 * n)}/{int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)}"


def _fill(value, values: dict):
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def _text(answer) -> str:
    data = b"".join(answer.streaming_content) if answer.streaming else answer.content
    if answer.get("Content-Type", "").startswith("application/vnd.mapbox-vector-tile") and data:
        return json.dumps(mapbox_vector_tile.decode(data), default=str)
    return data.decode("utf-8", "replace")


def _ask(client: Client, row: matrix.Row, values: dict):
    path, headers = _fill(row.path, values), _fill(row.headers, values)
    body = _fill(row.body, values)
    method = row.method.lower()
    if method in ("get", "head", "options", "delete"):
        return getattr(client, method)(path, **headers)
    if isinstance(body, str):  # XML
        return client.generic(row.method, path, body.encode(), content_type="text/xml", **headers)
    if row.form:
        return getattr(client, method)(path, body or {}, **headers)
    return client.generic(row.method, path, json.dumps(body or {}), content_type="application/json", **headers)


def _outcome(answer, text: str) -> str:
    if answer.status_code == 302 and "login" in answer.get("Location", ""):
        return "login"
    if answer.status_code != 200:
        return str(answer.status_code)
    return "200", ("X" if any(m in text for m in X_SEEN) else "") + ("Y" if any(m in text for m in Y_SEEN) else "")


@pytest.mark.parametrize(("row", "role"), CELLS, ids=[f"{r.key}|{role}" for r, role in CELLS])
def test_matrix_cell(world: World, db, no_rate_limits, row: matrix.Row, role: str):
    expected = row.outcomes[matrix.ANY.index(role)]
    client = Client()
    if role in SESSIONS:
        client.cookies[settings.SESSION_COOKIE_NAME] = SESSIONS[role]
    from workorders import field_feed
    from workorders.models import WorkOrder

    values = world.values() | {"api_key": world.api_key if role == "api_client" else "",
                               "tile": _tile(world.values()["lon"], world.values()["lat"]),
                               "version_x": WorkOrder.objects.get(pk=world.wo_x.pk).version,
                               "cursor": str(field_feed.cursor_now())}
    answer = _ask(client, row, values)
    text = _text(answer)
    got = _outcome(answer, text)
    if expected in ("X", "Y", "XY", "-"):
        assert got == ("200", expected.strip("-")), f"{row.key} as {role}: {answer.status_code} {text[:300]}"
    else:
        got = got[0] if isinstance(got, tuple) else got
        assert got == expected, f"{row.key} as {role}: {answer.status_code} {text[:300]}"
    shown = [m for m in REPORTER_MARKERS if m in text]
    if role in row.personal:  # where a role needs them, they are there
        assert shown, f"no reporter's details in {row.key} as {role}"
    else:
        assert not shown, f"reporter's details in {row.key} as {role}"
    if role not in ("crew", "admin"):  # the crew member's own name, to them
        assert not [m for m in CREW_NAMES if m in text], f"a crew member's name in {row.key} as {role}"
    assert world.api_key not in text, f"the API key in {row.key} as {role}"
    if not row.secrets:
        assert world.token not in text, f"a crew member's token in {row.key} as {role}"
    assert not [r for r, key in SESSIONS.items() if key in text], f"a session key in {row.key} as {role}"
