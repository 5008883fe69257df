"""Day plans from the solver, checked independently: windows, shifts, skills, priorities, travel."""

import numpy as np
import pytest

from workorders.planning import Stop, Vehicle, solve
from workorders.travel import StraightLine

TRAVEL = StraightLine(detour=1.0, speed_kmh=36.0)  # 10 m/s: easy arithmetic
DEPOT = (0.0, 0.0)


def check(plan, stops, vehicles):
    """Every planned stop starts inside its window, not before the crew can get there (it may start later:
    waiting is free), and every route ends within its shift. The solver counts whole seconds: each leg
    may be off by half a second."""
    by_key = {s.key: s for s in stops}
    crews = {v.key: v for v in vehicles}
    for route in plan.routes:
        crew = crews[route.vehicle]
        here, clock = crew.start_xy, crew.shift_s[0]
        for legs, visit in enumerate(route.visits, start=1):
            stop = by_key[visit.key]
            assert stop.skills <= crew.skills, (stop.key, crew.key)
            arrive = clock + float(np.hypot(*np.subtract(stop.xy, here))) / 10
            assert visit.start_s >= arrive - 0.5 * legs  # never before the crew can be there
            assert stop.window_s[0] <= visit.start_s <= stop.window_s[1]
            clock, here = visit.start_s + stop.service_s, stop.xy
            assert visit.end_s == pytest.approx(clock, abs=0.01)
        back = clock + float(np.hypot(*np.subtract(crew.end_xy, here))) / 10
        assert back - 0.5 * (len(route.visits) + 1) <= route.end_s <= crew.shift_s[1]


def test_windows_shifts_and_the_order_of_work():
    stops = [Stop(1, (1000, 0), 600, (0, 8 * 3600)), Stop(2, (2000, 0), 600, (0, 8 * 3600)),
             Stop(3, (3000, 0), 600, (2 * 3600, 3 * 3600))]  # an access window in the afternoon
    vehicles = [Vehicle(7, DEPOT, DEPOT, (0, 8 * 3600))]
    plan = solve(stops, vehicles, travel_matrix=TRAVEL.matrix, time_limit_s=0.5)
    assert plan.feasible and plan.unplanned == ()
    [route] = plan.routes
    assert sorted(v.key for v in route.visits) == [1, 2, 3]
    assert next(v for v in route.visits if v.key == 3).start_s == 2 * 3600  # waited for its window
    assert route.travel_s == pytest.approx(600)  # 6 km out and back along the line, no detour
    check(plan, stops, vehicles)


def test_skills_send_each_job_to_a_crew_that_can_do_it():
    stops = [Stop(n, (500.0 * n, 100.0), 300, (0, 28800), skills=frozenset({"arborist"} if n % 2 else {"electrical"}))
             for n in range(1, 9)]
    vehicles = [Vehicle(1, DEPOT, DEPOT, (0, 28800), skills=frozenset({"arborist"})),
                Vehicle(2, DEPOT, DEPOT, (0, 28800), skills=frozenset({"electrical"}))]
    plan = solve(stops, vehicles, travel_matrix=TRAVEL.matrix, time_limit_s=0.5)
    assert plan.feasible and plan.unplanned == ()
    check(plan, stops, vehicles)
    served = {v.key: r.vehicle for r in plan.routes for v in r.visits}
    assert all(served[n] == (1 if n % 2 else 2) for n in range(1, 9))


def test_a_short_shift_leaves_low_priority_work_not_urgent_work():
    # One hour of shift: room for two 20-minute jobs a kilometre out, not four.
    stops = [Stop(1, (1000, 0), 1200, (0, 3600), priority=4), Stop(2, (1000, 10), 1200, (0, 3600), priority=1),
             Stop(3, (1000, 20), 1200, (0, 3600), priority=3), Stop(4, (1000, 30), 1200, (0, 3600), priority=4)]
    vehicles = [Vehicle(1, DEPOT, DEPOT, (0, 3600))]
    plan = solve(stops, vehicles, travel_matrix=TRAVEL.matrix, time_limit_s=0.5)
    assert plan.feasible
    planned = {v.key for r in plan.routes for v in r.visits}
    assert 2 in planned and 3 in planned and len(planned) == 2
    assert set(plan.unplanned) == {1, 4}
    check(plan, stops, vehicles)


def test_crews_start_where_they_are_and_end_at_their_depot():
    stops = [Stop(1, (5000, 0), 60, (0, 28800))]
    vehicles = [Vehicle(1, (9000, 0), DEPOT, (0, 28800)), Vehicle(2, (-9000, 0), DEPOT, (0, 28800))]
    plan = solve(stops, vehicles, travel_matrix=TRAVEL.matrix, time_limit_s=0.3)
    [route] = [r for r in plan.routes if r.visits]
    assert route.vehicle == 1 and route.visits[0].start_s == pytest.approx(400)
    assert plan.travel_s == pytest.approx(400 + 500)
    check(plan, stops, vehicles)
