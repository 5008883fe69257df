"""What every fuzzed answer must be: never a 5xx, every 4xx a body a machine reads, and (for writes) the
database as it was when the answer is a refusal. Also the odd numbers the geometry tests send."""

import json
import math

from defusedxml import ElementTree
from hypothesis import strategies as st

from tests.fuzz import tally
from tests.fuzz.conftest import changed


def machine_readable(content_type: str, body: bytes) -> bool:
    """JSON (the APIs, tiles) or XML (Open311's .xml, OWS exception reports); not a page for people."""
    if "json" in content_type:
        return isinstance(json.loads(body), dict | list)
    if "xml" in content_type:
        return ElementTree.fromstring(body) is not None
    return False


def body(response) -> bytes:
    """The whole body, streamed (WFS GetFeature) or not; read once and kept."""
    if getattr(response, "streaming", False):
        response._fuzz_body = getattr(response, "_fuzz_body", None) or b"".join(response.streaming_content)
        return response._fuzz_body
    return response.content


def answered(kind: str, response, request: str, *, before: dict | None = None, snapshot=None):
    """Tally the case; fail on a 5xx, on a 4xx without a readable body, on a refused write that wrote."""
    tally.case(kind)
    if response.status_code >= 500:
        tally.server_error(kind, request, response.status_code, body(response))
        raise AssertionError(f"{response.status_code} for {request[:500]}: {body(response)[:500]!r}")
    if 400 <= response.status_code < 500:
        content_type = response.get("Content-Type", "")
        assert machine_readable(content_type, body(response)), (response.status_code, content_type,
                                                                body(response)[:300])
        if before is not None:
            assert not changed(before, snapshot()), f"refused ({response.status_code}) but written: {request[:300]}"
            tally.refused_write(kind)
    return response


# Numbers as clients send them wrong: NaN and infinities in every spelling, out of range, huge, tiny,
# not numbers at all (float() takes Arabic-Indic digits and underscores, so they are here too).
ODD_TEXT = st.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-Infinity", "1e999", "-1e999",
                            "1e308", "4.9e-324", "-0", "0x10", "", " ", "1_000", "١٢", "90.0000001",
                            "-180.0000001", "181", "-91", "1e3", "null", "true", "[]", "{}", "42,1", "\x00"])
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
NEAR_RANGE = st.floats(min_value=-200, max_value=200, allow_nan=False)
COORD_TEXT = st.one_of(ODD_TEXT, FLOATS.map(repr), NEAR_RANGE.map(repr), st.text(max_size=12))
COORD_JSON = st.one_of(FLOATS.filter(math.isfinite), NEAR_RANGE, ODD_TEXT, st.none(), st.booleans(),
                       st.lists(st.integers(), max_size=2))
