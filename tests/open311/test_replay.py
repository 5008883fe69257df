"""replay_311: a slice of Boston's real case history goes through intake with its own times and states."""

import csv
import datetime as dt
import gzip
from pathlib import Path

import pytest
from django.core.management import call_command

from workorders.models import Service, ServiceRequest

pytestmark = pytest.mark.django_db
HISTORY = Path(__file__).resolve().parents[2] / "fixtures" / "boston" / "311_cases.csv.gz"


def _slice(tmp_path: Path, first: int = 150) -> tuple[Path, list[dict]]:
    """The first rows of the real file plus the rows that test the edges (no coordinates, far away)."""
    with gzip.open(HISTORY, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    picked = rows[:first]
    picked += [r for r in rows if not r["latitude"]][:2]
    picked += [r for r in rows if r["latitude"].startswith("38.9")][:1]  # geocoded to Washington, DC
    path = tmp_path / "slice.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(picked)
    return path, picked


def test_replay_keeps_times_states_and_channels_and_runs_again_harmlessly(catalogue, tmp_path, capsys):
    Service.objects.filter(code="streetlight-outage").update(source_topics=["Street Light Outage"])
    Service.objects.filter(code="pothole").update(source_topics=["Pothole"])
    Service.objects.filter(code="building-inspection").update(source_topics=["Other"])  # the fallback
    path, rows = _slice(tmp_path)
    call_command("replay_311", str(path))
    out = capsys.readouterr().out
    assert f"{len(rows)} loaded" in out and "0 refused" in out
    assert ServiceRequest.objects.count() == len(rows)
    for row in rows:
        request = ServiceRequest.objects.get(external_id=row["case_id"])
        if row["open_date"]:
            assert request.requested_at == dt.datetime.fromisoformat(row["open_date"].replace("+00", "+00:00"))
        if row["case_status"] == "Closed":
            assert request.status == "closed"
            if row["close_date"] and row["open_date"] and row["close_date"] >= row["open_date"]:
                assert request.closed_at == dt.datetime.fromisoformat(row["close_date"].replace("+00", "+00:00"))
        elif row["case_status"] in ("Open", "In progress"):
            assert request.status == "open"
        if row["report_source"] == "Call":
            assert request.channel == "phone"
        if not row["latitude"] or row["latitude"].startswith("38.9"):
            assert request.geom is None and request.address_string
    light = ServiceRequest.objects.filter(service__code="streetlight-outage").first()
    assert light is None or light.geom is not None
    call_command("replay_311", str(path))
    assert f"{len(rows)} already there" in capsys.readouterr().out
    assert ServiceRequest.objects.count() == len(rows)
