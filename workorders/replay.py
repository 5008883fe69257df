"""Reading Boston's 311 case history (new case system CSV) into intake inputs and their later states."""

import csv
import datetime as dt
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workorders.models import Channel, DetailedStatus
from workorders.services import RequestInput

# Boston's report_source -> our channel.
CHANNELS = {
    "BOS311": Channel.APP, "Citizens Connect App": Channel.APP, "Call": Channel.PHONE,
    "Constituent Call": Channel.PHONE, "Employee Generated": Channel.EMPLOYEE,
    "City Worker App": Channel.EMPLOYEE, "Email": Channel.EMAIL,
}
# The new case system started on this day; 233 carried-over cases have no open date.
SYSTEM_START = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)


@dataclass
class CaseStep:
    """A later state of a replayed case: its detailed status, when, and the closure words."""

    detailed_status: str
    at: dt.datetime
    description: str = ""


@dataclass
class Case:
    external_id: str
    topic: str
    data: RequestInput
    expected_at: dt.datetime | None
    step: CaseStep | None  # None: still as received


def _moment(text: str) -> dt.datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    if text.endswith("+00"):
        text += ":00"
    return dt.datetime.fromisoformat(text)


def _coordinate(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value != 0 else None


def _closed_status(reason: str) -> str:
    reason = reason.lower()
    if "duplicate" in reason:
        return DetailedStatus.DUPLICATE
    if reason.startswith("resolved") or "resolved" in reason:
        return DetailedStatus.FIXED
    if reason.startswith("noted") or "noted" in reason:
        return DetailedStatus.NO_FURTHER_ACTION
    if reason.startswith("transitioned"):
        return DetailedStatus.INTERNAL_REFERRAL
    return DetailedStatus.CLOSED


def case_step(row: dict, opened: dt.datetime) -> CaseStep | None:
    status = row["case_status"].strip().lower()
    if status == "closed":
        closed = _moment(row["close_date"]) or opened
        words = " ".join(filter(None, (row["closure_reason"].strip(), row["closure_comments"].strip())))
        detailed = _closed_status(row["closure_reason"])
        if detailed == DetailedStatus.INTERNAL_REFERRAL:  # handed to another system: closed here
            detailed = DetailedStatus.CLOSED
        return CaseStep(detailed, max(closed, opened), words[:4000])
    if status == "in progress":
        return CaseStep(DetailedStatus.IN_PROGRESS, opened)
    if status == "open":
        return None
    return CaseStep(DetailedStatus.FOR_TRIAGE, opened)  # Apply, Submit, Create, Error, Needs Reallocation


def case_from_row(row: dict) -> Case:
    opened = _moment(row["open_date"]) or SYSTEM_START
    lat, long = _coordinate(row["latitude"]), _coordinate(row["longitude"])
    if lat is None or long is None:
        lat = long = None
    zipcode = row["zip_code"].strip()
    data = RequestInput(
        lat=lat, long=long,
        address_string=row["full_address"].strip() or "Boston, MA",
        zipcode=zipcode.zfill(5) if zipcode.isdigit() else zipcode,
        channel=CHANNELS.get(row["report_source"].strip(), Channel.PHONE),
        requested_at=opened,
        check_duplicates=False,  # history keeps its own duplicate decisions
        require_answers=False,
        link_on_commit=False,  # linked in batches as the replay goes (replay_311), not one task per case
    )
    return Case(
        external_id=row["case_id"].strip(), topic=row["case_topic"].strip(), data=data,
        expected_at=_moment(row["target_close_date"]), step=case_step(row, opened),
    )


def read_cases(path: Path) -> Iterator[Case]:
    """Cases in file order; plain or gzip-compressed CSV."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("case_id", "").strip():
                yield case_from_row(row)


def count_cases(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))
