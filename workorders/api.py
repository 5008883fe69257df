"""Analytics HTTP interface: request counts by a dimension and survey results, as JSON."""

import datetime as dt

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workorders import analytics

WINDOW = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="first day (inclusive), server time zone"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="last day (inclusive), server time zone"),
]


class WindowParams(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "end is before start"})
        return attrs

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """Whole local days: [start 00:00, the day after end 00:00)."""
        start, end = self.validated_data.get("start"), self.validated_data.get("end")
        zone = timezone.get_current_timezone()
        return (
            dt.datetime.combine(start, dt.time(), zone) if start else None,
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone) if end else None,
        )


class CountParams(WindowParams):
    by = serializers.ChoiceField(choices=sorted(analytics.DIMENSIONS))
    informational = serializers.BooleanField(required=False, allow_null=True, default=None)


class RequestCountsApi(APIView):
    """Service requests (reports and inquiries) counted by service, channel, department, status,
    neighbourhood, kind or day. Aggregates only: nothing about who reported."""

    @extend_schema(tags=["Analytics"], summary="Requests counted by a dimension",
                   parameters=[OpenApiParameter("by", OpenApiTypes.STR, required=True,
                                                enum=sorted(analytics.DIMENSIONS)),
                               OpenApiParameter("informational", OpenApiTypes.BOOL,
                                                description="true: inquiries only; false: reports only"),
                               *WINDOW],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = CountParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = params.bounds()
        by = params.validated_data["by"]
        rows = analytics.request_counts(by=by, start=start, end=end,
                                        informational=params.validated_data.get("informational"))
        return Response({"by": by, "start": params.validated_data.get("start"), "end": params.validated_data.get("end"),
                         "total": sum(row["count"] for row in rows), "rows": rows})


class SurveyResultsApi(APIView):
    """Post-closure surveys: sent, answered, fixed or not, satisfaction (1-5), per service."""

    @extend_schema(tags=["Analytics"], summary="Survey results", parameters=WINDOW,
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = WindowParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = params.bounds()
        return Response(analytics.survey_summary(start=start, end=end))
