"""The regression corpus (tests/fuzz/corpus/*.json): every input the fuzzers found a 5xx or an unreadable
refusal with, replayed as it was sent. Each file: why, method, path, and optionally auth (dispatcher or
crew_member), headers, content_type, body (text, or body_base64), status (the answer expected now) and
expect_content_type."""

import base64
import json
from pathlib import Path

import pytest

from tests.fuzz.support import answered

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.json"))
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_a_once_failing_input_is_now_a_clean_answer(path, city, snapshot, client):
    found = json.loads(path.read_text())
    headers = dict(found.get("headers", {}))
    if found.get("auth"):
        headers["Authorization"] = city[found["auth"]]
    body = base64.b64decode(found["body_base64"]) if "body_base64" in found else found.get("body", "")
    if isinstance(body, dict | list):
        body = json.dumps(body)
    before = snapshot() if found["method"] in WRITES else None
    response = client.generic(found["method"], found["path"], body, content_type=found.get(
        "content_type", "application/octet-stream"), headers=headers)
    answered("corpus", response, f"{found['method']} {found['path']}", before=before, snapshot=snapshot)
    assert response.status_code == found["status"], (response.status_code, response.content[:300])
    assert response.get("Content-Type", "").startswith(found.get("expect_content_type", "")), response["Content-Type"]
