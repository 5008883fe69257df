"""The best-crew policy without a database: skills, shifts (also overnight), area, load, position."""

import datetime as dt

from workorders.dispatch import CrewFacts, JobFacts, best_crews, on_shift, why_not

MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0)
JOB = JobFacts(department_id=1, skills=frozenset({"bucket-truck"}))


def crew(code="a", **changes) -> CrewFacts:
    base = dict(id=1, code=code, department_id=1, skills=frozenset({"bucket-truck", "electrical"}),
                shift_start=dt.time(7), shift_end=dt.time(15, 30), shift_days=frozenset({1, 2, 3, 4, 5}),
                in_area=True, load=0, max_load=8, distance_m=1000.0)
    return CrewFacts(**{**base, **changes})


def test_each_reason_to_leave_a_crew_out():
    assert why_not(crew(), JOB, MONDAY_10) is None
    assert why_not(crew(department_id=2), JOB, MONDAY_10) == "another department"
    assert why_not(crew(skills=frozenset({"electrical"})), JOB, MONDAY_10) == "lacks bucket-truck"
    assert why_not(crew(), JOB, MONDAY_10.replace(hour=16)) == "off shift"
    assert why_not(crew(), JOB, MONDAY_10 + dt.timedelta(days=5)) == "off shift"  # Saturday
    assert why_not(crew(in_area=False), JOB, MONDAY_10) == "outside its area"
    assert why_not(crew(load=8), JOB, MONDAY_10) == "full (8 of 8)"
    assert why_not(crew(distance_m=None), JOB, MONDAY_10) == "position unknown"


def test_overnight_shifts_count_from_the_day_they_start():
    night = crew(shift_start=dt.time(22), shift_end=dt.time(6), shift_days=frozenset({5}))  # Friday nights
    assert on_shift(night, dt.datetime(2026, 11, 27, 23, 0))  # Friday 23:00
    assert on_shift(night, dt.datetime(2026, 11, 28, 5, 59))  # Saturday 05:59, still Friday's shift
    assert not on_shift(night, dt.datetime(2026, 11, 28, 23, 0))  # Saturday night: no shift
    assert not on_shift(night, dt.datetime(2026, 11, 27, 5, 0))  # Friday early: Thursday had none


def test_ranked_by_travel_then_load_then_code():
    crews = [crew("far", distance_m=5000), crew("near-busy", distance_m=800, load=3),
             crew("near-idle", distance_m=800), crew("nearest-full", distance_m=10, load=8), crew("b", distance_m=800)]
    ranked = best_crews(JOB, crews, local=MONDAY_10, travel_s=lambda d: d / 10, limit=3)
    assert [r.crew.code for r in ranked] == ["b", "near-idle", "near-busy"]
    assert ranked[0].travel_s == 80
