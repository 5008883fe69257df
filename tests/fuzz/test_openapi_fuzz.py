"""schemathesis against /api/schema/: every documented operation (Open311 in both formats, the staff and crew
APIs) with valid credentials and a populated city. No 5xx, responses as documented, every 4xx a body a
machine reads, and a refused write leaves the database as it was."""

import orjson
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.fuzz import tally
from tests.fuzz.conftest import PER_OPERATION, changed
from tests.fuzz.support import machine_readable

pytestmark = pytest.mark.django_db


def _schema() -> dict:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return orjson.loads(orjson.dumps(raw, default=str))


# tus PATCH bodies are raw bytes, sent as such.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
schema = schemathesis.openapi.from_dict(_schema())
schema.app = get_wsgi_application()
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def credentials(case, city, dice) -> dict:
    """Who calls: the crew member on /api/field/, the dispatcher on the other staff APIs, nobody on Open311
    (whose POSTs carry the API key in the form, as the spec says), and now and then nobody at all."""
    path = case.operation.path
    if dice.random() < 0.1:
        return {}
    if path.startswith("/api/field/"):
        return {"Authorization": city["crew_member"]}
    if path.startswith("/api/"):
        return {"Authorization": city["dispatcher"]}
    return {}


def realistic(case, city, dice) -> None:
    """Most cases name things that exist (work orders, requests, the API key), so they get past the 404s."""
    params = case.path_parameters or {}
    if dice.random() < 0.6:
        for name in ("id", "pk"):
            if name in params:
                key = "requests" if case.operation.path.startswith("/api/console/requests") else "work_orders"
                pick = dice.choice(city[key])
                params[name] = pick if isinstance(pick, int) else pick.pk
        if "service_request_id" in params:
            params["service_request_id"] = dice.choice(city["requests"])
        if "code" in params:
            params["code"] = "street-lighting"
        if "service_code" in params:
            params["service_code"] = dice.choice(["pothole", "streetlight-outage", "trash-schedule"])
    if case.operation.path.startswith("/open311/") and case.method == "POST" and isinstance(case.body, dict):
        if dice.random() < 0.8:
            case.body["api_key"] = city["api_key"]


def check_case(case, city, snapshot, dice) -> None:
    realistic(case, city, dice)
    headers = credentials(case, city, dice)
    before = snapshot() if case.method.upper() in WRITES else None
    response = case.call(headers=headers)
    tally.case("openapi")
    if response.status_code >= 500:
        tally.server_error("openapi", f"{case.method} {case.formatted_path} {case.query} {case.body!r}",
                           response.status_code, response.content)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                             content_type_conformance], headers=headers)
    if 400 <= response.status_code < 500:
        content_type = (response.headers.get("content-type") or [""])[0]
        assert machine_readable(content_type, response.content), (response.status_code, content_type,
                                                                  response.content[:300])
        if before is not None:
            assert not changed(before, snapshot()), f"a refused {case.method} changed the database"
            tally.refused_write("openapi")


def strategy_for(operation):
    """Valid inputs and invalid ones (schemathesis's negative mode), where the operation has something to break."""
    valid = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    try:
        return st.one_of(valid, operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    except Exception:  # noqa: BLE001 - nothing to negate (no parameters, no body)
        return valid


OPERATIONS = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: op.label)
GROUPS = {"open311": "/open311/", "crew": "/api/field/", "staff": "/api/"}


def _group(operation) -> str:
    return next(name for name, prefix in GROUPS.items() if operation.path.startswith(prefix))


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_documented_operation_answers_without_a_server_error(group, city, snapshot):
    """One city per group; each operation its own hypothesis run, all run even when one fails."""
    failures = {}
    for operation in [op for op in OPERATIONS if _group(op) == group]:

        @settings(max_examples=PER_OPERATION)
        @given(case=strategy_for(operation), dice=st.randoms(use_true_random=False))
        def run(case, dice):
            check_case(case, city, snapshot, dice)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - reported together below
            failures[operation.label] = exc
    assert not failures, "\n\n".join(f"{label}: {exc}" for label, exc in failures.items())
