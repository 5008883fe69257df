"""Reads for 311 analytics: request counts by a dimension, and what residents said in surveys."""

import datetime as dt

from django.db.models import Avg, Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, TruncDate

from workorders.models import RequestStatus, ServiceRequest, Survey

# Dimension -> (key expression, label expression or None: the key is its own label). One expression is
# never selected twice: with server-side parameters PostgreSQL cannot tell two copies are equal in GROUP BY.
DIMENSIONS = {
    "service": (F("service__code"), F("service__name")),
    "channel": (F("channel"), None),
    "department": (F("department__code"), F("department__name")),
    "status": (F("status"), None),
    "detailed_status": (F("detailed_status"), None),
    "neighbourhood": (Coalesce("district__name", Value("(none)")), None),
    "kind": (Case(When(service__informational=True, then=Value("inquiry")), default=Value("report"),
                  output_field=CharField()), None),
    "day": (TruncDate("requested_at"), None),  # in the server's time zone
}
KIND_LABELS = {"inquiry": "Inquiry (logged, never dispatched)", "report": "Report"}


def _window(rows: QuerySet, field: str, start: dt.datetime | None, end: dt.datetime | None) -> QuerySet:
    """Rows whose ``field`` falls in [start, end); either end may be open."""
    if start:
        rows = rows.filter(**{f"{field}__gte": start})
    if end:
        rows = rows.filter(**{f"{field}__lt": end})
    return rows


def request_counts(*, by: str, start: dt.datetime | None = None, end: dt.datetime | None = None,
                   informational: bool | None = None) -> list[dict]:
    """Requests per value of ``by`` (a DIMENSIONS key), most first (by date for ``day``): how many,
    how many open and closed, how many filed as duplicates. Inquiries count like reports unless
    ``informational`` picks one kind."""
    key, label = DIMENSIONS[by]
    requests = _window(ServiceRequest.objects.all(), "requested_at", start, end)
    if informational is not None:
        requests = requests.filter(service__informational=informational)
    names = ("key", "label") if label is not None else ("key",)
    rows = (
        requests.annotate(key=key, **({"label": label} if label is not None else {})).values(*names)
        .annotate(count=Count("id"), open=Count("id", filter=Q(status=RequestStatus.OPEN)),
                  closed=Count("id", filter=Q(status=RequestStatus.CLOSED)),
                  duplicates=Count("id", filter=Q(duplicate_of__isnull=False)))
    )
    rows = rows.order_by("key") if by == "day" else rows.order_by("-count", "key")
    return [row | {"key": str(row["key"]), "label": _label(by, row)} for row in rows]


def _label(by: str, row: dict) -> str:
    if "label" in row:
        return str(row["label"])
    return KIND_LABELS.get(row["key"], row["key"]) if by == "kind" else str(row["key"])


def survey_summary(*, start: dt.datetime | None = None, end: dt.datetime | None = None) -> dict:
    """Surveys sent after closures in the window (by closure time), how they were answered, per service."""
    surveys = _window(Survey.objects.all(), "created_at", start, end)
    answered = surveys.filter(answered_at__isnull=False)
    totals = answered.aggregate(yes=Count("id", filter=Q(fixed=True)), no=Count("id", filter=Q(fixed=False)),
                                mean=Avg("satisfaction"))
    scores = dict(answered.filter(satisfaction__isnull=False).values_list("satisfaction")
                  .annotate(n=Count("id")).order_by())
    per_service = (
        answered.values(code=F("request__service__code"), name=F("request__service__name"))
        .annotate(answered=Count("id"), fixed_count=Count("id", filter=Q(fixed=True)),
                  mean=Avg("satisfaction"))
        .order_by("-answered", "code")
    )
    return {
        "sent": surveys.count(),
        "answered": answered.count(),
        "fixed": totals["yes"],
        "not_fixed": totals["no"],
        "satisfaction_mean": _rounded(totals["mean"]),
        "satisfaction": {str(score): scores.get(score, 0) for score in range(1, 6)},
        "by_service": [{"code": row["code"], "name": row["name"], "answered": row["answered"],
                        "fixed": row["fixed_count"], "satisfaction_mean": _rounded(row["mean"])}
                       for row in per_service],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)
