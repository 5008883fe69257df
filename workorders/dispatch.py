"""Which crew should take a work order now: a pure policy over candidate crews.

A crew qualifies when it is of the work order's department, has every skill its tasks need, is on
shift now (shifts may run past midnight), covers the place (no service area: anywhere), knows where
it is (a ping, else its depot) and has room (fewer assigned work orders than its maximum). Qualified
crews are ranked by the travel estimate from where they are, then by load, then by code. Every
crew left out is left out for a reason, which the dispatcher console shows.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CrewFacts:
    id: int
    code: str
    department_id: int
    skills: frozenset[str]
    shift_start: dt.time
    shift_end: dt.time
    shift_days: frozenset[int]  # ISO weekdays the shift starts on
    in_area: bool  # the work order's place is in its service area (or it has none)
    load: int  # work orders assigned and not done
    max_load: int
    distance_m: float | None  # from its last position (or depot); None: nowhere known


@dataclass(frozen=True, slots=True)
class JobFacts:
    department_id: int
    skills: frozenset[str]


@dataclass(frozen=True, slots=True)
class Ranked:
    crew: CrewFacts
    travel_s: float


def on_shift(crew: CrewFacts, local: dt.datetime) -> bool:
    """Whether ``local`` (the city's wall time) falls in a shift of the crew; overnight shifts count
    from the day they start."""
    now, day = local.time(), local.isoweekday()
    if crew.shift_start < crew.shift_end:
        return day in crew.shift_days and crew.shift_start <= now < crew.shift_end
    yesterday = 7 if day == 1 else day - 1
    return (day in crew.shift_days and now >= crew.shift_start) or (
        yesterday in crew.shift_days and now < crew.shift_end)


def why_not(crew: CrewFacts, job: JobFacts, local: dt.datetime) -> str | None:
    """None when the crew can take the job now; else the reason in a few words."""
    if crew.department_id != job.department_id:
        return "another department"
    missing = job.skills - crew.skills
    if missing:
        return "lacks " + ", ".join(sorted(missing))
    if not on_shift(crew, local):
        return "off shift"
    if not crew.in_area:
        return "outside its area"
    if crew.load >= crew.max_load:
        return f"full ({crew.load} of {crew.max_load})"
    if crew.distance_m is None:
        return "position unknown"
    return None


def best_crews(job: JobFacts, crews: Iterable[CrewFacts], *, local: dt.datetime,
               travel_s: Callable[[float], float], limit: int = 5) -> list[Ranked]:
    """The qualified crews, best first (shortest travel, then least loaded, then code)."""
    ranked = [Ranked(crew, travel_s(crew.distance_m)) for crew in crews if why_not(crew, job, local) is None]
    ranked.sort(key=lambda r: (r.travel_s, r.crew.load, r.crew.code))
    return ranked[:limit]
