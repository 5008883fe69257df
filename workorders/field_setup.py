"""Load work calendars, SLA policies, automatic dispatch and crews from a document
(fixtures/catalogue/field_service.yaml). Re-loading updates in place; a bad entry rejects the whole
document with the reason, nothing written."""

import datetime as dt
from typing import Any

from django.contrib.gis.geos import Point
from django.db import transaction

from gis import crs
from gis.models import Department
from workorders import sla
from workorders.models import Crew, Holiday, Service, SlaPolicy, WorkCalendar


def _time(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


@transaction.atomic
def field_service_load(*, data: dict[str, Any]) -> dict[str, int]:
    """Returns how many calendars, policies and crews the document holds. ValueError names a bad entry."""
    departments = {d.code: d for d in Department.objects.all()}
    services = {s.code: s for s in Service.objects.all()}

    def pick(table: dict, code: str, what: str, where: str):
        if code not in table:
            raise ValueError(f"{where}: unknown {what} {code!r}")
        return table[code]

    for spec in data.get("calendars", []):
        where = f"calendar {spec.get('code')!r}"
        try:
            sla.week_parse(spec["week"], zone=spec.get("time_zone", "America/New_York"))
        except sla.WeekInvalid as exc:
            raise ValueError(f"{where}: {exc}") from exc
        department = pick(departments, spec["department"], "department", where) if spec.get("department") else None
        calendar, _ = WorkCalendar.objects.update_or_create(code=spec["code"], defaults={
            "name": spec["name"], "department": department, "week": spec["week"],
            "time_zone": spec.get("time_zone", "America/New_York")})
        calendar.holidays.all().delete()
        Holiday.objects.bulk_create([Holiday(calendar=calendar, date=date, name=name)
                                     for date, name in spec.get("holidays", [])])
    for spec in data.get("sla_policies", []):
        service = pick(services, spec["service"], "service", "sla policy")
        SlaPolicy.objects.update_or_create(service=service, priority=spec.get("priority"), defaults={
            "hours": spec["hours"], "clock": spec.get("clock", "calendar"),
            "warning_fraction": spec.get("warning_fraction", 0.75)})
    for code in data.get("auto_dispatch", []):
        Service.objects.filter(pk=pick(services, code, "service", "auto_dispatch").pk).update(auto_dispatch=True)
    for spec in data.get("crews", []):
        where = f"crew {spec.get('code')!r}"
        start, end = (_time(t) for t in spec.get("shift", ["07:00", "15:30"]))
        lon, lat = spec["depot"]
        x, y = crs.storage_point(lon, lat)
        if not crs.in_storage_area(x, y):
            raise ValueError(f"{where}: depot {lon}, {lat} is outside the storage CRS's area")
        Crew.objects.update_or_create(code=spec["code"], defaults={
            "name": spec["name"], "department": pick(departments, spec["department"], "department", where),
            "skills": spec.get("skills", []), "equipment": spec.get("equipment", []), "shift_start": start,
            "shift_end": end, "shift_days": spec.get("days", [1, 2, 3, 4, 5]),
            "depot": Point(x, y, srid=crs.storage_srid()), "max_open_work_orders": spec.get("max_open", 8)})
    return {"calendars": len(data.get("calendars", [])), "sla_policies": len(data.get("sla_policies", [])),
            "crews": len(data.get("crews", []))}
