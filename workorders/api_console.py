"""Dispatcher console reads: the queue of unassigned and overdue work, and a request in full.

Thin like workorders/api_work.py (whose helpers it shares): check the caller, call one selector, format.
Staff only, and only the departments the caller has a role in (superusers: all).
"""

import datetime as dt

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gis import crs
from workorders import permissions, triage, work_selectors
from workorders.models import Role, Service, ServiceRequest
from workorders.work import TransitionRefused

TAGS = ["Dispatcher console"]


def _codes(value: str) -> list[str] | None:
    return [c for c in value.split(",") if c] or None


class QueueParams(serializers.Serializer):
    department = serializers.CharField(required=False, default="", help_text="comma-separated department codes")
    service = serializers.CharField(required=False, default="", help_text="comma-separated service codes")
    limit = serializers.IntegerField(required=False, default=200, min_value=1, max_value=1000)


def _breach(due_at: dt.datetime | None, now: dt.datetime) -> float | None:
    return None if due_at is None else round((due_at - now).total_seconds())


class ConsoleQueueApi(APIView):
    """Open work no crew holds, and open work past its due time, soonest SLA breach first."""

    permission_classes = [IsAdminUser]

    @extend_schema(tags=TAGS, summary="The dispatcher's queue", parameters=[QueueParams],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = QueueParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        p = params.validated_data
        now = timezone.now()
        rows = work_selectors.work_orders_list_queue(
            departments=permissions.visible_departments(request.user), department_codes=_codes(p["department"]),
            service_codes=_codes(p["service"]), now=now, limit=p["limit"])
        points = crs.wgs84_lonlat_list([wo.location for wo in rows])
        return Response({"at": now, "count": len(rows), "items": [
            {"id": wo.pk, "title": wo.title, "status": wo.status, "priority": wo.priority,
             "department": wo.department.code, "service": wo.service.code, "service_name": wo.service.name,
             "crew": wo.crew.code if wo.crew_id else None, "due_at": wo.due_at,
             "breach_in_s": _breach(wo.due_at, now), "overdue": wo.due_at is not None and wo.due_at < now,
             "created_at": wo.created_at, "version": wo.version, "lonlat": lonlat}
            for wo, lonlat in zip(rows, points, strict=True)]})


class PlansParams(serializers.Serializer):
    date = serializers.DateField(required=False)
    department = serializers.CharField(required=False, default="", help_text="comma-separated department codes")


class ConsolePlansApi(APIView):
    """Every crew's route in its department's current day plan: a line from where the crew is through its stops."""

    permission_classes = [IsAdminUser]

    @extend_schema(tags=TAGS, summary="Crews' routes today", parameters=[PlansParams],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = PlansParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        stops = work_selectors.plan_stops_current(
            departments=permissions.visible_departments(request.user),
            date=params.validated_data.get("date") or timezone.localdate(),
            department_codes=_codes(params.validated_data["department"]))
        crews: dict[int, list] = {}
        for stop in stops:
            crews.setdefault(stop.crew_id, []).append(stop)
        starts = crs.wgs84_lonlat_list([s[0].crew.last_position or s[0].crew.depot for s in crews.values()])
        places = crs.wgs84_lonlat_list([stop.work_order.location for stop in stops])
        at = iter(places)
        features = []
        for (crew_id, route), start in zip(crews.items(), starts, strict=True):
            points = [p for p in [start, *(next(at) for _ in route)] if p is not None]
            crew = route[0].crew
            features.append({"type": "Feature", "id": crew_id, "properties": {
                "crew": crew_id, "code": crew.code, "department": crew.department.code, "stops": len(route),
                "version": route[0].plan.version, "first_arrive_at": route[0].arrive_at},
                "geometry": {"type": "LineString", "coordinates": points} if len(points) > 1 else None})
        return Response({"type": "FeatureCollection", "features": features})


def _link(sr: ServiceRequest) -> dict | None:
    link = getattr(sr, "link", None)
    if link is None:
        return None
    asset = link.asset
    return {"state": link.state, "asset": {"id": asset.pk, "external_id": asset.external_id,
                                           "type": asset.asset_type.code} if asset else None,
            "asset_distance_m": link.asset_distance_m, "asset_outcome": link.asset_outcome or None,
            "flagged": link.flagged, "utilities": link.utilities,
            "department": link.department.code if link.department_id else None,
            "rule": link.rule.name if link.rule_id else None,
            "reclassified_from": link.reclassified_from.code if link.reclassified_from_id else None,
            "priority": link.priority, "explanation": link.explanation, "linked_at": link.linked_at}


class ConsoleRequestDetailApi(APIView):
    """A request in full for the console: its texts and photos, linked asset and utilities with the routing
    explanation, its history and SLA clock. Reporters' contact details only for the department's supervisors and
    admins."""

    permission_classes = [IsAdminUser]

    @extend_schema(tags=TAGS, summary="A request in full", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        sr = work_selectors.request_detail_staff(pk)
        held = permissions.department_roles(request.user)  # one query: where the caller sees, and as what
        if sr is None or (held is not None and sr.department_id not in held):
            raise NotFound("no such request")  # the same answer whether it exists or not
        now = timezone.now()
        photos = list(sr.media_urls or []) + [m.file.url for m in sr.media.all() if m.file.url not in
                                               (sr.media_urls or [])]
        wo = sr.work_order
        return Response({
            "id": sr.pk, "reference": sr.reference, "service": sr.service.code, "service_name": sr.service.name,
            "department": sr.department.code, "department_name": sr.department.name, "status": sr.status,
            "detailed_status": sr.detailed_status, "status_notes": sr.status_notes, "description": sr.description,
            "address": sr.address_string, "district": sr.district.name if sr.district_id else None,
            "channel": sr.channel, "attributes": sr.attributes, "photos": photos,
            "requested_at": sr.requested_at, "expected_at": sr.expected_at, "closed_at": sr.closed_at,
            "breach_in_s": _breach(sr.expected_at, now) if sr.status == "open" else None,
            "lonlat": crs.wgs84_lonlat_list([sr.geom])[0],
            "duplicate_of": sr.duplicate_of.reference if sr.duplicate_of_id else None,
            "duplicate_of_id": sr.duplicate_of_id,
            "work_order": {"id": wo.pk, "status": wo.status, "version": wo.version} if wo else None,
            "link": _link(sr),
            "history": [{"at": n.created_at, "kind": n.kind, "status": n.detailed_status, "note": n.description,
                         "by": n.author} for n in sr.notes.all()],
        } | _reporter(sr, held))


def _reporter(sr: ServiceRequest, held: dict[int, set[str]] | None) -> dict:
    """How to reach the reporter: for the department's supervisors (who answer complaints and "not fixed"
    surveys) and admins only; dispatchers and viewers never need it."""
    if held is not None and Role.SUPERVISOR not in held.get(sr.department_id, set()):
        return {}
    private = ServiceRequest.objects.filter(pk=sr.pk).values("first_name", "last_name", "email", "phone").get()
    return {"reporter": private}


# --- Triage: reclassify, merge a duplicate, make a work order (services in workorders/triage.py) -------------

def _request_to_change(request: Request, pk: int) -> ServiceRequest:
    sr = ServiceRequest.objects.filter(pk=pk).only("pk", "department_id").first()
    seen = permissions.visible_departments(request.user)
    if sr is None or (seen is not None and sr.department_id not in seen):
        raise NotFound("no such request")
    if not (request.user.is_superuser or permissions.roles(request.user, sr.department_id) & permissions.ASSIGNERS):
        raise PermissionDenied("only dispatchers and supervisors of the department triage its requests")
    return sr


def _refused(refusal: TransitionRefused) -> Response:
    return Response({"code": refusal.code, "detail": refusal.message}, status=status.HTTP_409_CONFLICT)


class ReclassifyInput(serializers.Serializer):
    service = serializers.SlugRelatedField(slug_field="code", queryset=Service.objects.all())
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class RequestReclassifyApi(APIView):
    """File a request under another service (its work order follows while no crew has it)."""

    permission_classes = [IsAdminUser]

    @extend_schema(tags=TAGS, summary="Reclassify a request", request=ReclassifyInput,
                   responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        sr = _request_to_change(request, pk)
        data = ReclassifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            changed = triage.request_reclassify(request_id=sr.pk, service=data.validated_data["service"],
                                                actor=request.user, note=data.validated_data["note"])
        except TransitionRefused as refused:
            return _refused(refused)
        return Response({"id": changed.pk, "service": changed.service.code, "department": changed.department.code,
                         "work_order": changed.work_order_id})


class MergeInput(serializers.Serializer):
    into = serializers.CharField(max_length=30, help_text="the original: its id or public reference")


class RequestMergeApi(APIView):
    """File a request as a duplicate of another (closed, its followers following the original)."""

    permission_classes = [IsAdminUser]

    @extend_schema(tags=TAGS, summary="Merge a duplicate request", request=MergeInput,
                   responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        sr = _request_to_change(request, pk)
        data = MergeInput(data=request.data)
        data.is_valid(raise_exception=True)
        into = data.validated_data["into"].strip()
        by_id = Q(pk=int(into)) if into.isdigit() and len(into) <= 15 else Q(pk__in=[])
        found = ServiceRequest.objects.filter(Q(reference=into.upper()) | by_id)
        original = found.values_list("pk", "department_id").first()
        seen = permissions.visible_departments(request.user)
        if original is None or (seen is not None and original[1] not in seen):
            return Response({"into": [f"no request {into}"]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            merged = triage.request_merge(request_id=sr.pk, into_id=original[0], actor=request.user)
        except TransitionRefused as refused:
            return _refused(refused)
        return Response({"id": merged.pk, "status": merged.status, "detailed_status": merged.detailed_status,
                         "duplicate_of": merged.duplicate_of_id})


class RequestWorkOrderCreateApi(APIView):
    """Make a work order for a request that has none (ready for dispatch)."""

    permission_classes = [IsAdminUser]

    @extend_schema(tags=TAGS, summary="Make a work order for a request", request=None,
                   responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        sr = _request_to_change(request, pk)
        try:
            wo = triage.request_work_order_create(request_id=sr.pk, actor=request.user)
        except TransitionRefused as refused:
            return _refused(refused)
        return Response({"id": wo.pk, "status": wo.status, "due_at": wo.due_at, "version": wo.version},
                        status=status.HTTP_201_CREATED)
