"""Crews in the field: position pings (the track, and the last position the dispatcher sees) and the
best crews for a work order now (the policy in dispatch.py over candidates found by KNN in PostGIS)."""

import datetime as dt

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from gis.spatial import queries
from workorders import dispatch, states
from workorders.models import Crew, CrewPosition, WorkOrder, WorkOrderTask
from workorders.travel import travel_times


def crew_position_record(*, crew_id: int, point: Point, at: dt.datetime | None = None,
                         accuracy_m: float | None = None) -> CrewPosition:
    """Store a ping (storage-CRS point) in the track; it becomes the crew's last position unless an
    older ping arrives late (a tablet syncing after a dead zone does not move the crew backwards)."""
    at = at or timezone.now()
    with transaction.atomic():
        ping = CrewPosition.objects.create(crew_id=crew_id, at=at, geom=point, accuracy_m=accuracy_m)
        Crew.objects.filter(pk=crew_id).exclude(last_seen_at__gt=at).update(last_position=point, last_seen_at=at)
    return ping


_ASSIGNED = [str(s) for s in states.ASSIGNED]
# The skills the work order's tasks need, asked inside the candidates' query (one round trip).
_JOB_SKILLS = (f"(SELECT coalesce(array_agg(DISTINCT s), '{{}}')::varchar[] FROM {WorkOrderTask._meta.db_table} k, "
               "unnest(k.required_skills) s WHERE k.work_order_id = %s)")
_CANDIDATE_COLUMNS = (
    "t.id", "t.code", "t.department_id", "t.skills", "t.shift_start", "t.shift_end", "t.shift_days",
    f"(SELECT count(*) FROM {WorkOrder._meta.db_table} w WHERE w.crew_id = t.id AND w.status = ANY(%s))",
    "t.max_open_work_orders", _JOB_SKILLS,
)


def crews_best_for(*, work_order: WorkOrder, now: dt.datetime | None = None, limit: int = 5) -> list[dispatch.Ranked]:
    """The best crews to send now, nearest (by travel estimate) first. Candidates of the department
    with the skills come from PostGIS nearest first (the GiST index on crew.last_position), in widening
    rounds until ``limit`` qualify or none are left, so the cost follows how many are near, not the fleet."""
    if work_order.location is None:
        return []
    local = timezone.localtime(now or timezone.now())
    travel = travel_times().seconds
    fetch = max(4 * limit, 16)
    while True:
        rows = queries.nearest_rows(
            table=Crew._meta.db_table, columns=_CANDIDATE_COLUMNS, point_field="last_position",
            area_field="service_area", where=f"t.active AND t.department_id = %s AND t.skills @> {_JOB_SKILLS}",
            column_params=[_ASSIGNED, work_order.pk], params=[work_order.department_id, work_order.pk],
            x=work_order.location.x, y=work_order.location.y, limit=fetch)
        facts = [dispatch.CrewFacts(pk, code, department, frozenset(crew_skills), start, end, frozenset(days),
                                    in_area, load, max_load, distance)
                 for pk, code, department, crew_skills, start, end, days, load, max_load, _, distance, in_area
                 in rows]
        job = dispatch.JobFacts(work_order.department_id, frozenset(rows[0][9]) if rows else frozenset())
        best = dispatch.best_crews(job, facts, local=local, travel_s=travel, limit=limit)
        if len(best) >= limit or len(rows) < fetch:
            return best
        fetch *= 4
