"""The fault replay (bench/replay_faults.py), shortened to a minute of Boston's cases with one fault of each kind;
outside the default suite: pytest -m long tests/faults."""

import json
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.long


def test_a_minute_of_boston_under_faults_loses_nothing_and_does_nothing_twice(tmp_path):
    figures_file = tmp_path / "figures.json"
    run = subprocess.run(
        [sys.executable, "bench/replay_faults.py", "--seconds", "60", "--rate", "15", "--faults", "1",
         "--seed", "11", "--json", str(figures_file)],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=1200)
    said = run.stdout[-4000:] + run.stderr[-4000:]
    assert figures_file.exists(), said
    figures = json.loads(figures_file.read_text())
    assert figures["violations"] == [] and run.returncode == 0, said
    assert figures["sent"] >= 800 and figures["accepted"] == figures["stored"] == figures["sent"]
    assert (figures["duplicates"], figures["lost"], figures["gave_up"]) == (0, 0, 0)
    assert figures["linked"] == figures["routed"] == figures["stored"]
    assert figures["open_without_work_order"] == 0 and figures["work_orders"] > 0
    assert figures["updates_accepted"] == figures["updates_sent"] > 0
    sent_emails = figures["notifications"].get("sent", 0)
    assert sent_emails > 0 and figures["sla_emails"] == figures["sla_notified"] == figures["sla_escalations"]
    assert figures["emails_written"] == sent_emails + figures["sla_emails"] and figures["emails_twice"] == 0
    assert sorted(f["kind"] for f in figures["faults"]) == ["postgres", "redis", "worker"]
    assert all(f["catch_up_s"] is not None for f in figures["faults"]), figures["faults"]
