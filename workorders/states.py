"""The work order state machine: the allowed transitions as an explicit table, and what each needs.

Pure: workorders/work.py asks check() before changing anything, so an illegal move is refused with a
reason and a machine-readable code, and nothing is written. After Maximo's allowed-status table and
Cartegraph's rules (a task needs its crew to be dispatched, completion needs a resolution).
"""

from dataclasses import dataclass

from workorders.models import WorkOrderStatus as S

# From each status, where it may go. Terminal: cancelled. Closed only reopens.
ALLOWED: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.TRIAGED, S.READY, S.CANCELLED}),
    S.TRIAGED: frozenset({S.READY, S.ON_HOLD, S.CANCELLED}),
    S.READY: frozenset({S.SCHEDULED, S.DISPATCHED, S.ON_HOLD, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.READY, S.DISPATCHED, S.ON_HOLD, S.CANCELLED}),
    S.DISPATCHED: frozenset({S.READY, S.EN_ROUTE, S.IN_PROGRESS, S.ON_HOLD, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.DISPATCHED, S.IN_PROGRESS, S.ON_HOLD, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.COMPLETED}),
    S.ON_HOLD: frozenset({S.TRIAGED, S.READY, S.SCHEDULED, S.DISPATCHED, S.IN_PROGRESS, S.CANCELLED}),
    S.COMPLETED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.CANCELLED: frozenset(),
    S.REOPENED: frozenset({S.TRIAGED, S.READY, S.SCHEDULED, S.DISPATCHED, S.CANCELLED}),
}

OPEN = frozenset(set(ALLOWED) - {S.COMPLETED, S.CLOSED, S.CANCELLED})
DONE = frozenset({S.COMPLETED, S.CLOSED, S.CANCELLED})
ASSIGNED = frozenset({S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.IN_PROGRESS})  # a crew holds it


@dataclass(frozen=True)
class Move:
    """What the caller asks for, with what it brings."""

    to: str
    crew_id: int | None = None  # the work order's crew after the move
    scheduled: bool = False  # a scheduled start is set
    hold_reason: str = ""
    resolution: str = ""
    note: str = ""


@dataclass(frozen=True)
class Refusal:
    code: str  # machine-readable: unknown_status, not_allowed, crew_required, ...
    message: str


def check(current: str, move: Move) -> Refusal | None:
    """None when ``current`` → ``move.to`` is allowed with what the move brings; else why not."""
    if move.to not in ALLOWED:
        return Refusal("unknown_status", f"unknown status {move.to!r}; one of {', '.join(ALLOWED)}")
    if move.to not in ALLOWED[current]:
        allowed = ", ".join(sorted(ALLOWED[current])) or "nothing (it is final)"
        return Refusal("not_allowed", f"a work order that is {current} cannot become {move.to}; it can become "
                                      f"{allowed}")
    if move.to in ASSIGNED and move.crew_id is None:
        return Refusal("crew_required", f"{move.to} needs a crew")
    if move.to == S.SCHEDULED and not move.scheduled:
        return Refusal("schedule_required", "scheduled needs a scheduled start")
    if move.to == S.ON_HOLD and not move.hold_reason:
        return Refusal("hold_reason_required", "on hold needs a reason")
    if move.to == S.COMPLETED and not move.resolution:
        return Refusal("resolution_required", "completed needs a resolution")
    if move.to in (S.CANCELLED, S.REOPENED) and not move.note.strip():
        return Refusal("note_required", f"{move.to} needs a note saying why")
    return None
