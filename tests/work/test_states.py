"""The work order state machine without a database: every allowed and every forbidden transition."""

import itertools

import pytest

from workorders import states
from workorders.models import HoldReason, Resolution
from workorders.models import WorkOrderStatus as S
from workorders.states import Move, check

EVERY = list(S.values)
# The table as the issue and docs/architecture.md state it, written out independently of states.ALLOWED.
EXPECTED = {
    ("new", "triaged"), ("new", "ready"), ("new", "cancelled"),
    ("triaged", "ready"), ("triaged", "on_hold"), ("triaged", "cancelled"),
    ("ready", "scheduled"), ("ready", "dispatched"), ("ready", "on_hold"), ("ready", "cancelled"),
    ("scheduled", "ready"), ("scheduled", "dispatched"), ("scheduled", "on_hold"), ("scheduled", "cancelled"),
    ("dispatched", "ready"), ("dispatched", "en_route"), ("dispatched", "in_progress"), ("dispatched", "on_hold"),
    ("dispatched", "cancelled"),
    ("en_route", "dispatched"), ("en_route", "in_progress"), ("en_route", "on_hold"), ("en_route", "cancelled"),
    ("in_progress", "on_hold"), ("in_progress", "completed"),
    ("on_hold", "triaged"), ("on_hold", "ready"), ("on_hold", "scheduled"), ("on_hold", "dispatched"),
    ("on_hold", "in_progress"), ("on_hold", "cancelled"),
    ("completed", "closed"), ("completed", "reopened"),
    ("closed", "reopened"),
    ("reopened", "triaged"), ("reopened", "ready"), ("reopened", "scheduled"), ("reopened", "dispatched"),
    ("reopened", "cancelled"),
}


def complete_move(to: str) -> Move:
    """A move that brings everything any status can ask for: only the table decides."""
    return Move(to=to, crew_id=7, scheduled=True, hold_reason=HoldReason.WEATHER, resolution=Resolution.FIXED,
                note="because")


@pytest.mark.parametrize(("current", "to"), list(itertools.product(EVERY, EVERY)))
def test_every_pair_is_allowed_exactly_when_the_table_says(current, to):
    refusal = check(current, complete_move(to))
    if (current, to) in EXPECTED:
        assert refusal is None
    else:
        assert refusal is not None and refusal.code == "not_allowed"
        assert current in refusal.message and to in refusal.message


def test_cancelled_is_final_and_says_so():
    assert check(S.CANCELLED, complete_move(S.READY)).message.endswith("nothing (it is final)")


@pytest.mark.parametrize(("current", "move", "code"), [
    (S.READY, Move(to=S.DISPATCHED), "crew_required"),
    (S.DISPATCHED, Move(to=S.EN_ROUTE), "crew_required"),
    (S.READY, Move(to=S.SCHEDULED, crew_id=1), "schedule_required"),
    (S.IN_PROGRESS, Move(to=S.ON_HOLD), "hold_reason_required"),
    (S.IN_PROGRESS, Move(to=S.COMPLETED), "resolution_required"),
    (S.NEW, Move(to=S.CANCELLED, note="  "), "note_required"),
    (S.CLOSED, Move(to=S.REOPENED), "note_required"),
    (S.NEW, Move(to="finished"), "unknown_status"),
])
def test_what_a_status_needs_is_asked_for(current, move, code):
    assert check(current, move).code == code


def test_open_done_and_assigned_sets_partition_sensibly():
    assert states.OPEN | states.DONE == set(EVERY) and not states.OPEN & states.DONE
    assert states.ASSIGNED <= states.OPEN
