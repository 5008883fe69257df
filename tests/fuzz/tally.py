"""The fuzz run's own tally: every generated case and every server error, counted as they happen."""

import json
import os
from collections import Counter

cases: Counter = Counter()
server_errors: list[dict] = []
refused_writes: Counter = Counter()  # refusals of writes whose tables were compared before and after


def refused_write(kind: str) -> None:
    refused_writes[kind] += 1


def case(kind: str) -> None:
    cases[kind] += 1


def server_error(kind: str, request: str, status: int, body: bytes | str) -> None:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    server_errors.append({"kind": kind, "request": request[:2000], "status": status, "body": text[:500]})


def summary() -> dict:
    """Cases counted as sent; the corpus replays are counted apart from the generated ones."""
    return {"cases": sum(n for kind, n in cases.items() if kind != "corpus"), "by_kind": dict(sorted(cases.items())),
            "server_errors": len(server_errors), "errors": server_errors[:20],
            "refused_writes_checked": sum(refused_writes.values())}


def write(path: str | None = None) -> None:
    """FIELDSVC_FUZZ_REPORT names a JSON file for bench/fuzz.py (the numbers of this pytest process)."""
    path = path or os.environ.get("FIELDSVC_FUZZ_REPORT")
    if path:
        with open(path, "w") as out:
            json.dump(summary(), out, indent=1, default=str)
