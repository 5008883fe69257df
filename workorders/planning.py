"""Day plans: which crew does which work orders, in what order and when, from a real VRPTW solver.

PyVRP (MIT; hybrid genetic search) was measured against the Solomon VRPTW instances in
bench/dispatch_bench.py and picked over VROOM: closer to the best known at the same time budget.
Pure: stops and vehicles in (places in metres, times in seconds from the plan's start), routes out.

- Time windows: a stop's window is for the start of work (SLA due time, access hours); early crews wait.
- Shifts: a vehicle's window is its shift; it starts and ends at its own places (depot or position).
- Skills: a stop may only go to a crew with every skill it needs (modelled as load dimensions, the
  way PyVRP's documentation suggests: a crew lacking a skill has no capacity for it).
- Priorities: urgent and high work must be planned; normal and low work may be left for another day
  when the shifts cannot hold it all, the lower the priority the cheaper to leave.
- Optional truck capacity (asphalt, sign stock) and a fixed cost per crew used (Solomon's vehicles-first).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp.stop import MaxRuntime

# Seconds of travel a stop is worth planning when it may be left out (urgent and high only when they
# cannot all fit: see ``urgent_required``).
PRIZES = {1: 1000 * 3600, 2: 100 * 3600, 3: 10 * 3600, 4: 2 * 3600}


@dataclass(frozen=True)
class Stop:
    key: int
    xy: tuple[float, float]
    service_s: float
    window_s: tuple[float, float]  # earliest and latest start of work
    priority: int = 3  # 1 urgent … 4 low
    skills: frozenset[str] = frozenset()
    load: int = 0


@dataclass(frozen=True)
class Vehicle:
    key: int
    start_xy: tuple[float, float]
    end_xy: tuple[float, float]
    shift_s: tuple[float, float]
    skills: frozenset[str] = frozenset()
    capacity: int | None = None
    fixed_cost_s: float = 0.0


@dataclass(frozen=True)
class Visit:
    key: int
    arrive_s: float
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Route:
    vehicle: int
    visits: tuple[Visit, ...]
    travel_s: float
    end_s: float


@dataclass(frozen=True)
class Plan:
    routes: tuple[Route, ...]
    unplanned: tuple[int, ...]
    travel_s: float
    feasible: bool


def solve(stops: Sequence[Stop], vehicles: Sequence[Vehicle], *, travel_matrix, time_limit_s: float,
          seed: int = 1, resolution_s: float = 1.0, urgent_required: bool = True) -> Plan:
    """Plan the stops on the vehicles. ``travel_matrix(xy_list) -> seconds`` (workorders/travel.py)
    over the places [vehicle starts and ends…, stops…]. The solver counts in integer steps of
    ``resolution_s`` (a second for a city day; finer for unit-scale benchmark instances). Without
    ``urgent_required`` urgent and high work is only very costly to leave out (when it cannot all fit,
    the plan still holds as much of it as it can)."""
    def steps(seconds: float) -> int:
        return int(round(seconds / resolution_s))

    if not vehicles:
        return Plan((), tuple(s.key for s in stops), 0.0, True)
    model = pyvrp.Model()
    places = [v.start_xy for v in vehicles] + [v.end_xy for v in vehicles] + [s.xy for s in stops]
    seconds = np.asarray(travel_matrix(places), dtype=float)
    locations = [model.add_location(x=float(x), y=float(y)) for x, y in places]
    skills = sorted(set().union(*(s.skills for s in stops)))
    capacity_used = any(v.capacity is not None for v in vehicles) and any(s.load for s in stops)
    dims = len(skills) + (1 if capacity_used else 0)
    starts, ends = [], []
    for n, vehicle in enumerate(vehicles):
        starts.append(model.add_depot(locations[n], name=f"start {vehicle.key}"))
        ends.append(model.add_depot(locations[len(vehicles) + n], name=f"end {vehicle.key}"))
    for n, vehicle in enumerate(vehicles):
        capacity = [len(stops) if skill in vehicle.skills else 0 for skill in skills]
        if capacity_used:
            capacity.append(vehicle.capacity if vehicle.capacity is not None else sum(s.load for s in stops))
        model.add_vehicle_type(num_available=1, capacity=capacity or [], start_depot=starts[n], end_depot=ends[n],
                               tw_early=steps(vehicle.shift_s[0]), tw_late=steps(vehicle.shift_s[1]),
                               fixed_cost=steps(vehicle.fixed_cost_s), name=str(vehicle.key))
    offset = 2 * len(vehicles)
    for n, stop in enumerate(stops):
        delivery = [1 if skill in stop.skills else 0 for skill in skills]
        if capacity_used:
            delivery.append(stop.load)
        required = urgent_required and stop.priority <= 2
        model.add_client(locations[offset + n], delivery=delivery if dims else [],
                         service_duration=steps(stop.service_s), tw_early=steps(stop.window_s[0]),
                         tw_late=steps(stop.window_s[1]), required=required,
                         prize=0 if required else steps(PRIZES[stop.priority]), name=str(stop.key))
    # The whole matrix at once (an add_edge per pair costs seconds of Python at a few thousand places).
    matrix = np.rint(seconds / resolution_s).astype(np.int64)
    np.fill_diagonal(matrix, 0)
    data = model.data().replace(distance_matrices=[matrix], duration_matrices=[matrix])
    result = pyvrp.solve(data, stop=MaxRuntime(time_limit_s), seed=seed, display=False)
    return _plan(result.best, stops, vehicles, resolution_s)


def _plan(solution, stops: Sequence[Stop], vehicles: Sequence[Vehicle], step_s: float) -> Plan:
    routes, planned = [], set()
    for route in solution.routes():
        visits = []
        for activity in route.schedule():
            if activity.is_client():  # a client activity counts clients from 0
                stop, start = stops[activity.idx], activity.start_time * step_s
                planned.add(stop.key)
                visits.append(Visit(stop.key, start - activity.wait_duration * step_s, start,
                                    activity.end_time * step_s))
        routes.append(Route(vehicles[route.vehicle_type()].key, tuple(visits), route.distance() * step_s,
                            route.end_time() * step_s))
    return Plan(tuple(routes), tuple(s.key for s in stops if s.key not in planned), solution.distance() * step_s,
                solution.is_feasible())
