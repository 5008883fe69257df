"""Reads for the public statistics page and its downloads: service-level attainment, time to close,
requests per 1,000 residents by neighbourhood, and weekly or monthly trends. Aggregates only.

What counts: reports, not inquiries (logged as closed at once, never dispatched). Duplicates count as use of
311 (volume, per 1,000, trends) but not in attainment or time to close: they close by following another
request. Attainment is per request, as residents see it: closed by its Open311 ``expected_datetime``
(``expected_at``, from the SLA policy), like Kansas City's "closed within timeframe".
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Aggregate, Count, F, FloatField, Func, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from gis.models import District
from gis.spatial.export import geojson_wgs84
from workorders.models import ServiceRequest

# Time-to-close bins: (column, label, lower hours inclusive, upper hours exclusive or None).
CLOSE_BINS = [
    ("under_1_day", "under 1 day", 0, 24),
    ("days_1_3", "1-3 days", 24, 72),
    ("days_3_7", "3-7 days", 72, 168),
    ("days_7_14", "1-2 weeks", 168, 336),
    ("days_14_30", "2-4 weeks", 336, 720),
    ("days_30_90", "1-3 months", 720, 2160),
    ("over_90_days", "over 3 months", 2160, None),
]
SLA_GROUPS = {"service": ("service__code", "service__name"), "department": ("department__code", "department__name")}
INTERVALS = {"week": TruncWeek, "month": TruncMonth}


@dataclass(frozen=True)
class Window:
    """[start, end) in time, and an optional service group code; ``end`` None means now."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    group: str | None = None


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the continuous percentile of the expression."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _hours_to_close() -> Func:
    return Func(F("closed_at") - F("requested_at"), template="EXTRACT(EPOCH FROM %(expressions)s) / 3600.0",
                output_field=FloatField())


def _reports(window: Window) -> QuerySet:
    rows = ServiceRequest.objects.filter(service__informational=False)
    return rows.filter(service__group__code=window.group) if window.group else rows


def _in(rows: QuerySet, field: str, window: Window) -> QuerySet:
    if window.start:
        rows = rows.filter(**{f"{field}__gte": window.start})
    if window.end:
        rows = rows.filter(**{f"{field}__lt": window.end})
    return rows


def _closed(window: Window) -> QuerySet:
    """Reports closed in the window, duplicates aside."""
    return _in(_reports(window), "closed_at", window).filter(closed_at__isnull=False, duplicate_of__isnull=True)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def sla_attainment_list(*, by: str, window: Window) -> list[dict]:
    """Per service or department: reports with a target closed in the window, how many by the target, the
    share on time (%), and how many were open past their target at the window's end. Most closed first."""
    key, label = SLA_GROUPS[by]
    end = min(window.end or timezone.now(), timezone.now())
    closed = (_closed(window).filter(expected_at__isnull=False)
              .values(key=F(key), label=F(label))
              .annotate(closed=Count("id"), on_time=Count("id", filter=Q(closed_at__lte=F("expected_at")))))
    overdue = (_reports(window).filter(Q(closed_at__isnull=True) | Q(closed_at__gte=end), expected_at__lt=end,
                                       duplicate_of__isnull=True, requested_at__lt=end)
               .values(key=F(key), label=F(label)).annotate(n=Count("id")))
    if window.start:
        overdue = overdue.filter(expected_at__gte=window.start)
    rows: dict[str, dict] = {}
    for row in closed:
        rows[row["key"]] = {"key": row["key"], "label": row["label"], "closed": row["closed"],
                            "on_time": row["on_time"], "late": row["closed"] - row["on_time"],
                            "percent_on_time": _percent(row["on_time"], row["closed"]), "open_overdue": 0}
    for row in overdue:
        rows.setdefault(row["key"], {"key": row["key"], "label": row["label"], "closed": 0, "on_time": 0,
                                     "late": 0, "percent_on_time": None, "open_overdue": 0})["open_overdue"] = row["n"]
    return sorted(rows.values(), key=lambda r: (-r["closed"], r["key"]))


def sla_attainment_total(rows: list[dict]) -> dict:
    """The rows summed into one line (the city's attainment)."""
    closed, on_time = sum(r["closed"] for r in rows), sum(r["on_time"] for r in rows)
    return {"key": "all", "label": "All services", "closed": closed, "on_time": on_time, "late": closed - on_time,
            "percent_on_time": _percent(on_time, closed), "open_overdue": sum(r["open_overdue"] for r in rows)}


def close_time_list(*, window: Window) -> list[dict]:
    """Reports closed in the window (duplicates aside): per service and in total (first row, key 'all'), how
    many, median and 90th percentile hours from report to closure, and how many in each CLOSE_BINS bin."""
    hours = _hours_to_close()
    closed = _closed(window).annotate(hours=hours)
    measures = {"closed": Count("id"), "median_hours": PercentileCont("hours", fraction=0.5),
                "p90_hours": PercentileCont("hours", fraction=0.9)}
    for column, _, low, high in CLOSE_BINS:
        condition = Q(hours__gte=low) if high is None else Q(hours__gte=low, hours__lt=high)
        measures[column] = Count("id", filter=condition)
    total = closed.aggregate(**measures)
    per_service = (closed.values(key=F("service__code"), label=F("service__name")).annotate(**measures)
                   .order_by("-closed", "key"))
    return [_close_row(row) for row in [{"key": "all", "label": "All services", **total}, *per_service]]


def _close_row(row: dict) -> dict:
    return {"key": row["key"], "label": row["label"], "closed": row["closed"],
            "median_hours": _hours(row["median_hours"]), "p90_hours": _hours(row["p90_hours"]),
            **{column: row[column] for column, *_ in CLOSE_BINS}}


def neighbourhood_rate_list(*, window: Window, geometry: bool = False) -> list[dict]:
    """Every neighbourhood: reports made there in the window, its population, and reports per 1,000 residents
    (None without a population figure). Lowest rate first: where people use 311 least. ``geometry`` adds
    the outline as WGS84 GeoJSON text."""
    counts = dict(_in(_reports(window), "requested_at", window).filter(district__isnull=False)
                  .values_list("district_id").annotate(n=Count("id")).order_by())
    columns = ["id", "name", "city", "population"]
    districts = District.objects.all()
    if geometry:  # a query of its own: beside the counts' GROUP BY it was computed once per request (84 s)
        districts = districts.annotate(outline=geojson_wgs84("geom"))
        columns.append("outline")
    rows = []
    for row in districts.values(*columns):
        population = row["population"] or None
        n = counts.get(row["id"], 0)
        rows.append({"key": row["id"], "name": row["name"], "city": row["city"], "population": population,
                     "requests": n, "per_1000": round(1000 * n / population, 1) if population else None}
                    | ({"outline": row["outline"]} if geometry else {}))
    return sorted(rows, key=lambda r: (r["per_1000"] is None, r["per_1000"] or 0, r["city"], r["name"]))


def request_trend_list(*, interval: str, window: Window) -> list[dict]:
    """Reports opened and closed per week (starting Monday) or month, in the server's time zone, oldest first;
    periods with neither are left out."""
    trunc = INTERVALS[interval]
    opened = (_in(_reports(window), "requested_at", window).annotate(period=trunc("requested_at"))
              .values("period").annotate(n=Count("id")).order_by())
    closed = (_in(_reports(window), "closed_at", window).filter(closed_at__isnull=False)
              .annotate(period=trunc("closed_at")).values("period").annotate(n=Count("id")).order_by())
    periods: dict[dt.date, dict] = {}
    for field, rows in (("opened", opened), ("closed", closed)):
        for row in rows:
            day = timezone.localtime(row["period"]).date() if isinstance(row["period"], dt.datetime) else row["period"]
            periods.setdefault(day, {"period": day.isoformat(), "opened": 0, "closed": 0})[field] = row["n"]
    return [periods[day] for day in sorted(periods)]
