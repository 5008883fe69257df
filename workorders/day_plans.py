"""Day plans for a department: its open work on its crews' shifts, solved (planning.py) and stored.

- A stop per open work order with a place: work on site is the sum of its tasks' minutes, skills the
  union of theirs; it must start by its SLA due time, or as soon as possible once that has passed
  (overdue work is planned as urgent). Work a crew already holds (dispatched, en route) stays with
  that crew: a skill only that crew has is added to both.
- A vehicle per crew of the department on shift that day: from its last position (today) or depot,
  back to its depot, within its shift (from now, today).
- Versions rise per department and date; a plan made while another was stored is discarded, not
  written over it (compare-and-set on the version).
- An urgent job re-plans only the crews that can take it and are nearest, in about a second, keeping
  every other crew's route as it was.
"""

import datetime as dt
from dataclasses import dataclass
from importlib.metadata import version as package_version

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from workorders import planning
from workorders.models import Crew, DayPlan, PlanStop, WorkOrder
from workorders.models import WorkOrderStatus as S
from workorders.travel import travel_times

PLANNABLE = (S.TRIAGED, S.READY, S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.REOPENED, S.ON_HOLD)
HELD = (S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE)


class PlanSuperseded(Exception):
    """Another plan for the same department and date was stored while this one was being solved."""


@dataclass(frozen=True)
class _Day:
    origin: dt.datetime  # local midnight: plan times are seconds from it
    now_s: float

    def seconds(self, at: dt.datetime) -> float:
        return (at - self.origin).total_seconds()

    def at(self, seconds: float) -> dt.datetime:
        return self.origin + dt.timedelta(seconds=seconds)


def _day(date: dt.date, now: dt.datetime) -> _Day:
    origin = dt.datetime.combine(date, dt.time(), timezone.get_current_timezone())
    return _Day(origin, max(0.0, (now - origin).total_seconds()))


def _vehicles(department_id: int, date: dt.date, day: _Day, crew_ids: set[int] | None = None) -> list:
    crews = Crew.objects.filter(department_id=department_id, active=True, shift_days__contains=[date.isoweekday()])
    if crew_ids is not None:
        crews = crews.filter(pk__in=crew_ids)
    vehicles = []
    for crew in crews.order_by("code"):
        start = dt.datetime.combine(date, crew.shift_start, day.origin.tzinfo)
        end = dt.datetime.combine(date + dt.timedelta(days=crew.shift_end <= crew.shift_start), crew.shift_end,
                                  day.origin.tzinfo)
        shift = (max(day.seconds(start), day.now_s), day.seconds(end))
        here = crew.last_position if crew.last_position is not None and day.now_s > 0 else crew.depot
        home = crew.depot or here
        if here is None or shift[0] >= shift[1]:
            continue  # nowhere known, or the shift is over
        vehicles.append(planning.Vehicle(crew.pk, (here.x, here.y), (home.x, home.y), shift,
                                         skills=frozenset(crew.skills) | {f"crew-{crew.pk}"}))
    return vehicles


def _stops(work_orders, day: _Day, horizon_s: float) -> list:
    stops = []
    for wo in work_orders:
        tasks = list(wo.tasks.all())
        due = day.seconds(wo.due_at) if wo.due_at else horizon_s
        overdue = due <= day.now_s
        skills = frozenset().union(*(t.required_skills for t in tasks)) if tasks else frozenset()
        if wo.status in HELD and wo.crew_id:
            skills |= {f"crew-{wo.crew_id}"}
        minutes = sum(t.estimated_minutes for t in tasks) or 30
        stops.append(planning.Stop(wo.pk, (wo.location.x, wo.location.y), 60.0 * minutes,
                                   (day.now_s, horizon_s if overdue else max(due, day.now_s)),
                                   priority=1 if overdue else wo.priority, skills=skills))
    return stops


def _open_work(department_id: int, ids: set[int] | None = None, limit: int | None = None):
    """Open work with a place, most urgent first (priority, then due time); at most ``limit``."""
    qs = (WorkOrder.objects.filter(department_id=department_id, status__in=PLANNABLE, location__isnull=False)
          .prefetch_related("tasks").order_by("priority", F("due_at").asc(nulls_last=True), "id"))
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs[:limit] if limit is not None else qs


def _store(department_id: int, date: dt.date, day: _Day, plan: planning.Plan, *, base_version: int | None,
           reason: str, seconds: float, keep: list[PlanStop] = ()) -> DayPlan:
    """Write the plan as the next version; PlanSuperseded if a plan newer than ``base_version`` exists."""
    with transaction.atomic():
        latest = (DayPlan.objects.filter(department_id=department_id, date=date)
                  .aggregate(v=Max("version"))["v"] or 0)
        if base_version is not None and latest != base_version:
            raise PlanSuperseded(f"plan version {latest} was stored meanwhile")
        try:
            with transaction.atomic():
                stored = DayPlan.objects.create(
                    department_id=department_id, date=date, version=latest + 1, reason=reason,
                    solver=f"pyvrp {package_version('pyvrp')}", seconds=seconds, travel_s=plan.travel_s,
                    unplanned=list(plan.unplanned))
        except IntegrityError as exc:  # another writer took this version between the read and the insert
            raise PlanSuperseded("another plan took this version") from exc
        rows = [PlanStop(plan=stored, crew_id=s.crew_id, sequence=s.sequence, work_order_id=s.work_order_id,
                         arrive_at=s.arrive_at, start_at=s.start_at, end_at=s.end_at) for s in keep]
        for route in plan.routes:
            rows += [PlanStop(plan=stored, crew_id=route.vehicle, sequence=n, work_order_id=v.key,
                              arrive_at=day.at(v.arrive_s), start_at=day.at(v.start_s), end_at=day.at(v.end_s))
                     for n, v in enumerate(route.visits, start=1)]
        PlanStop.objects.bulk_create(rows)
    return stored


def day_plan_make(*, department_id: int, date: dt.date | None = None, seconds: float = 20.0,
                  now: dt.datetime | None = None, reason: str = "day plan") -> DayPlan:
    """Plan the department's open work on its crews for ``date`` (default today) and store it."""
    now = now or timezone.now()
    date = date or timezone.localdate(now)
    day = _day(date, now)
    base = DayPlan.objects.filter(department_id=department_id, date=date).aggregate(v=Max("version"))["v"] or 0
    vehicles = _vehicles(department_id, date, day)
    horizon = max((v.shift_s[1] for v in vehicles), default=day.now_s + 1)
    # A crew does a couple of dozen jobs a day at most: the most urgent ones are offered, the rest wait.
    limit = len(vehicles) * settings.FIELDSVC_PLAN_STOPS_PER_CREW
    stops = _stops(_open_work(department_id, limit=limit), day, horizon)
    plan = _solve(stops, vehicles, seconds)
    return _store(department_id, date, day, plan, base_version=base, reason=reason, seconds=seconds)


def _solve(stops: list, vehicles: list, seconds: float) -> planning.Plan:
    """Urgent work required; if the shifts cannot hold it all, as much of it as they can."""
    plan = planning.solve(stops, vehicles, travel_matrix=travel_times().matrix, time_limit_s=seconds)
    if plan.feasible:
        return plan
    return planning.solve(stops, vehicles, travel_matrix=travel_times().matrix, time_limit_s=seconds,
                          urgent_required=False)


def day_plan_insert_urgent(*, work_order_id: int, crews: int = 3, seconds: float = 1.0,
                           now: dt.datetime | None = None) -> DayPlan:
    """Put an urgent work order into today's plan: only the ``crews`` nearest crews that can take it
    are planned again (their stops and the new one, ``seconds`` of solving); the others keep theirs."""
    from workorders.crews import crews_best_for

    now = now or timezone.now()
    wo = WorkOrder.objects.get(pk=work_order_id)
    date = timezone.localdate(now)
    current = (DayPlan.objects.filter(department_id=wo.department_id, date=date).order_by("-version")
               .prefetch_related("stops").first())
    chosen = {r.crew.id for r in crews_best_for(work_order=wo, now=now, limit=crews)}
    if current is None or not chosen:
        return day_plan_make(department_id=wo.department_id, date=date, now=now, seconds=max(seconds, 1.0),
                             reason=f"urgent WO-{wo.pk}")
    day = _day(date, now)
    keep = [s for s in current.stops.all() if s.crew_id not in chosen and s.work_order_id != wo.pk]
    redo = {s.work_order_id for s in current.stops.all() if s.crew_id in chosen} | {wo.pk}
    redo |= {pk for pk in current.unplanned if pk != wo.pk} & set(
        _open_work(wo.department_id).values_list("pk", flat=True))
    vehicles = _vehicles(wo.department_id, date, day, chosen)
    horizon = max((v.shift_s[1] for v in vehicles), default=day.now_s + 1)
    stops = [s if s.key != wo.pk else planning.Stop(s.key, s.xy, s.service_s, s.window_s, 1, s.skills, s.load)
             for s in _stops(_open_work(wo.department_id, redo), day, horizon)]
    plan = _solve(stops, vehicles, seconds)
    return _store(wo.department_id, date, day, plan, base_version=current.version, keep=keep,
                  reason=f"urgent WO-{wo.pk}", seconds=seconds)


def crew_plan(*, crew_id: int, date: dt.date | None = None) -> list[PlanStop]:
    """The crew's stops in the current plan of its department for the date."""
    crew = Crew.objects.get(pk=crew_id)
    date = date or timezone.localdate()
    current = DayPlan.objects.filter(department_id=crew.department_id, date=date).order_by("-version").first()
    if current is None:
        return []
    return list(current.stops.filter(crew_id=crew_id).select_related("work_order").order_by("sequence"))

