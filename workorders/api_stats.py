"""Public statistics HTTP interface (open data, no login): the same numbers as JSON, CSV and GeoJSON.

``?format=csv`` (and ``?format=geojson`` for neighbourhoods) gives a download of exactly the rows the JSON
carries; the page at /stats/ renders the same selectors. Bad parameters are 400s with a JSON body whatever
the format asked for.
"""

import csv
import io
import json

from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workorders import open_data
from workorders.api import WINDOW, WindowParams
from workorders.models import ServiceGroup


class CsvRenderer(renderers.BaseRenderer):
    """``data["rows"]`` as CSV, the columns the view names (so an empty table still has its header)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=renderer_context["view"].columns, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in data["rows"])
        return out.getvalue().encode()


class GeoJsonRenderer(renderers.BaseRenderer):
    media_type = "application/geo+json"
    format = "geojson"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data, separators=(",", ":")).encode()


class StatsParams(WindowParams):
    group = serializers.SlugField(required=False, help_text="a service group code")

    def validate_group(self, value: str) -> str:
        if not ServiceGroup.objects.filter(code=value).exists():
            raise serializers.ValidationError(f"no service group '{value}'")
        return value

    def window(self) -> open_data.Window:
        start, end = self.bounds()
        return open_data.Window(start=start, end=end, group=self.validated_data.get("group"))

    def echo(self) -> dict:
        data = self.validated_data
        return {"start": data.get("start"), "end": data.get("end"), "group": data.get("group")}


class SlaParams(StatsParams):
    by = serializers.ChoiceField(choices=sorted(open_data.SLA_GROUPS), default="service")


class TrendParams(StatsParams):
    interval = serializers.ChoiceField(choices=sorted(open_data.INTERVALS), default="month")


PARAMS = [*WINDOW, OpenApiParameter("group", OpenApiTypes.STR, description="service group code"),
          OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"], description="csv: a download")]


class StatsApi(APIView):
    """Open data: anyone may read; a 4xx stays JSON even when CSV or GeoJSON was asked for."""

    permission_classes = [AllowAny]
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]
    columns: list[str] = []
    download_name = "stats"

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        response = super().finalize_response(request, response, *args, **kwargs)
        fmt = getattr(request.accepted_renderer, "format", "json")
        if response.status_code == 200:
            patch_cache_control(response, public=True, max_age=300)  # aggregates: five minutes old is fine
            if fmt != "json":
                response["Content-Disposition"] = f'attachment; filename="fieldsvc-{self.download_name}.{fmt}"'
        return response

    def params(self, request: Request, kind: type[StatsParams]) -> StatsParams:
        params = kind(data=request.query_params)
        params.is_valid(raise_exception=True)
        return params


class SlaAttainmentListApi(StatsApi):
    """Service-level attainment per service or department: reports closed by their target time."""

    columns = ["key", "label", "closed", "on_time", "late", "percent_on_time", "open_overdue"]

    @extend_schema(tags=["Statistics"], summary="SLA attainment by service or department",
                   parameters=[OpenApiParameter("by", OpenApiTypes.STR, enum=sorted(open_data.SLA_GROUPS)), *PARAMS],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = self.params(request, SlaParams)
        by = params.validated_data["by"]
        self.download_name = f"sla-by-{by}"
        rows = open_data.sla_attainment_list(by=by, window=params.window())
        return Response({"by": by, **params.echo(), "total": open_data.sla_attainment_total(rows), "rows": rows})


class CloseTimeListApi(StatsApi):
    """Hours from report to closure: median, 90th percentile and a histogram, in total and per service."""

    columns = ["key", "label", "closed", "median_hours", "p90_hours", *(c for c, *_ in open_data.CLOSE_BINS)]
    download_name = "time-to-close"

    @extend_schema(tags=["Statistics"], summary="Time to close", parameters=PARAMS,
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = self.params(request, StatsParams)
        bins = [{"column": c, "label": label, "min_hours": low, "max_hours": high}
                for c, label, low, high in open_data.CLOSE_BINS]
        return Response({**params.echo(), "bins": bins, "rows": open_data.close_time_list(window=params.window())})


class NeighbourhoodRateListApi(StatsApi):
    """Reports per 1,000 residents in each neighbourhood; ``format=geojson`` adds the outlines (WGS84)."""

    renderer_classes = [*StatsApi.renderer_classes, GeoJsonRenderer]
    columns = ["key", "name", "city", "population", "requests", "per_1000"]
    download_name = "requests-per-1000"

    @extend_schema(tags=["Statistics"], summary="Requests per 1,000 residents by neighbourhood",
                   parameters=[*PARAMS[:-1], OpenApiParameter("format", OpenApiTypes.STR,
                                                              enum=["json", "csv", "geojson"])],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = self.params(request, StatsParams)
        geojson = request.accepted_renderer.format == "geojson"
        rows = open_data.neighbourhood_rate_list(window=params.window(), geometry=geojson)
        if geojson:
            return Response({"type": "FeatureCollection", **{k: str(v) if v else v for k, v in params.echo().items()},
                             "features": [{"type": "Feature", "id": row["key"],
                                           "geometry": json.loads(row.pop("outline")), "properties": row}
                                          for row in rows]})
        return Response({**params.echo(), "rows": rows})


class RequestTrendListApi(StatsApi):
    """Reports opened and closed per week or month."""

    columns = ["period", "opened", "closed"]

    @extend_schema(tags=["Statistics"], summary="Requests opened and closed over time",
                   parameters=[OpenApiParameter("interval", OpenApiTypes.STR, enum=sorted(open_data.INTERVALS)),
                               *PARAMS],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = self.params(request, TrendParams)
        interval = params.validated_data["interval"]
        self.download_name = f"requests-by-{interval}"
        return Response({"interval": interval, **params.echo(),
                         "rows": open_data.request_trend_list(interval=interval, window=params.window())})
