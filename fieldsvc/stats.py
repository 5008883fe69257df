"""The public statistics page (/stats/, no login): open data on how the city answers 311.

The tables are rendered here from the same selectors the /api/stats/ endpoints call (numbers readable
without JavaScript); fieldsvc/static/fieldsvc/stats.js draws the charts and the choropleth from those
endpoints, whose ?format=csv / geojson links are the downloads.
"""

import datetime as dt
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from workorders import open_data
from workorders.api_stats import StatsParams
from workorders.models import ServiceGroup

DEFAULT_DAYS = 365


@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    defaults = {"start": (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(), "end": today.isoformat()}
    query = defaults | {k: v for k, v in request.GET.items() if k in ("start", "end", "group") and v}
    params = StatsParams(data=query)
    errors = {}
    if not params.is_valid():  # say what was wrong, and show the default year (with the group if it was good)
        errors = params.errors
        query = defaults | ({"group": query["group"]} if "group" in query and "group" not in errors else {})
        params = StatsParams(data=query)
        params.is_valid(raise_exception=True)
    window = params.window()
    days = (params.validated_data["end"] - params.validated_data["start"]).days + 1
    interval = "week" if days <= 120 else "month"
    sla_service = open_data.sla_attainment_list(by="service", window=window)
    close_rows = open_data.close_time_list(window=window)
    qs = urlencode({k: v for k, v in params.echo().items() if v})

    def api(name: str, **extra: str) -> str:
        return reverse(f"stats:{name}") + "?" + "&".join(p for p in (qs, urlencode(extra)) if p)

    context = {
        "query": params.echo(), "errors": errors, "interval": interval,
        "groups": ServiceGroup.objects.filter(services__informational=False).distinct().order_by("name"),
        "sla_service": sla_service, "sla_total": open_data.sla_attainment_total(sla_service),
        "sla_department": open_data.sla_attainment_list(by="department", window=window),
        "close_total": close_rows[0], "close_services": close_rows[1:],
        "bins": [(label, close_rows[0][column]) for column, label, *_ in open_data.CLOSE_BINS],
        "neighbourhoods": open_data.neighbourhood_rate_list(window=window),
        "trends": open_data.request_trend_list(interval=interval, window=window),
        "api": {"sla_service": api("sla", by="service"), "sla_department": api("sla", by="department"),
                "time_to_close": api("time-to-close"), "neighbourhoods": api("neighbourhoods"),
                "trends": api("trends", interval=interval)},
    }
    return render(request, "fieldsvc/stats.html", context, status=400 if errors else 200)
