"""Dispatcher HTTP interface: work orders (GeoJSON), transitions, assignment, best crews, crew positions.

Thin: parse with a serializer, check the caller's role (workorders/permissions.py), call one service or
selector, format. Geometry goes out as GeoJSON in WGS84 lon/lat; refusals are 409 with a code.
"""

from django.contrib.gis.geos import Point
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gis import crs
from gis.audit.services import audit_record
from workorders import permissions, work_selectors
from workorders.crews import crew_position_record, crews_best_for
from workorders.models import Crew, HoldReason, Resolution, WorkOrder, WorkOrderStatus
from workorders.work import TransitionRefused, work_order_assign, work_order_transition

TAGS = ["Dispatch"]




def _feature(properties: dict, lonlat: list[float] | None) -> dict:
    return {"type": "Feature", "id": properties["id"], "properties": properties,
            "geometry": {"type": "Point", "coordinates": lonlat} if lonlat else None}


def _summary(wo: WorkOrder) -> dict:
    return {"id": wo.pk, "title": wo.title, "status": wo.status, "priority": wo.priority,
            "department": wo.department.code, "service": wo.service.code,
            "crew": wo.crew.code if wo.crew_id else None, "due_at": wo.due_at, "warn_at": wo.warn_at,
            "scheduled_start": wo.scheduled_start, "hold_reason": wo.hold_reason or None,
            "version": wo.version, "updated_at": wo.updated_at}


def _refused(refusal: TransitionRefused) -> Response:
    return Response({"code": refusal.code, "detail": refusal.message}, status=status.HTTP_409_CONFLICT)


def _visible(request: Request, pk: int) -> WorkOrder:
    wo = work_selectors.work_order_detail(pk)
    if wo is None or not permissions.can_see(request.user, wo):
        raise NotFound("no such work order")  # the same answer whether it exists or not
    return wo


class WorkOrderListParams(serializers.Serializer):
    status = serializers.CharField(required=False, help_text="comma-separated statuses")
    department = serializers.CharField(required=False, help_text="comma-separated department codes")
    priority = serializers.CharField(required=False, help_text="comma-separated, 1 urgent … 4 low")
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
    crew = serializers.IntegerField(required=False)
    bbox = serializers.CharField(required=False, help_text="min_lon,min_lat,max_lon,max_lat (WGS84)")

    def validate_status(self, value):
        statuses = [s for s in value.split(",") if s]
        unknown = set(statuses) - set(WorkOrderStatus.values)
        if unknown:
            raise serializers.ValidationError(f"unknown status {', '.join(sorted(unknown))}")
        return statuses

    def validate_priority(self, value):
        try:
            priorities = [int(p) for p in value.split(",") if p]
        except ValueError as exc:
            raise serializers.ValidationError("priorities are numbers 1-4") from exc
        if any(p not in (1, 2, 3, 4) for p in priorities):
            raise serializers.ValidationError("priorities are numbers 1-4")
        return priorities

    def validate_bbox(self, value):
        try:
            box = tuple(float(v) for v in value.split(","))
        except ValueError as exc:
            raise serializers.ValidationError("bbox is four numbers: min_lon,min_lat,max_lon,max_lat") from exc
        if len(box) != 4 or not (-180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90):
            raise serializers.ValidationError("bbox is min_lon,min_lat,max_lon,max_lat with min < max")
        return box


class WorkOrderListApi(APIView):
    """Work orders in the caller's departments as a GeoJSON FeatureCollection, most urgent first."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Work orders", parameters=[WorkOrderListParams], operation_id="work_orders_list",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        params = WorkOrderListParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        p = params.validated_data
        qs = work_selectors.work_orders_list(
            departments=permissions.visible_departments(request.user), statuses=p.get("status"),
            department_codes=[c for c in p.get("department", "").split(",") if c] or None,
            priorities=p.get("priority"), overdue=p.get("overdue"), bbox=p.get("bbox"), crew_id=p.get("crew"))
        pager = LimitOffsetPagination()
        page = pager.paginate_queryset(qs, request, view=self)
        points = crs.wgs84_lonlat_list([wo.location for wo in page])
        return Response({"type": "FeatureCollection", "count": pager.count, "next": pager.get_next_link(),
                         "previous": pager.get_previous_link(),
                         "features": [_feature(_summary(wo), lonlat) for wo, lonlat in zip(page, points, strict=True)]})


class WorkOrderDetailApi(APIView):
    """One work order as a GeoJSON Feature with its tasks, requests, history and SLA escalations."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="A work order in full", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        wo = _visible(request, pk)
        events = list(wo.events.all())
        event_points = crs.wgs84_lonlat_list([e.position for e in events])
        properties = _summary(wo) | {
            "district": wo.district.name if wo.district_id else None, "sla_hours": wo.sla_hours,
            "sla_clock": wo.sla_clock or None, "actual_start": wo.actual_start, "actual_end": wo.actual_end,
            "resolution": wo.resolution or None, "closed_at": wo.closed_at,
            "tasks": [{"sequence": t.sequence, "description": t.description, "status": t.status,
                       "asset": t.asset.external_id if t.asset_id else None, "asset_id": t.asset_id,
                       "estimated_minutes": t.estimated_minutes, "required_skills": t.required_skills}
                      for t in wo.tasks.all()],
            "requests": [{"id": r.pk, "reference": r.reference, "status": r.status,
                          "detailed_status": r.detailed_status, "requested_at": r.requested_at}
                         for r in wo.requests.all()],
            "history": [{"at": e.at, "from": e.from_status or None, "to": e.to_status, "by": e.actor_label,
                         "note": e.note, "position": lonlat} for e, lonlat in zip(events, event_points, strict=True)],
            "escalations": [{"level": x.level, "due_at": x.due_at, "at": x.at} for x in wo.escalations.all()],
        } | _from_the_field(wo)
        return Response(_feature(properties, crs.wgs84_lonlat_list([wo.location])[0]))

    @extend_schema(tags=TAGS, summary="Edit fields (If-Match required; 412 with the current state when stale)",
                   request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 412: OpenApiTypes.OBJECT,
                                                           428: OpenApiTypes.OBJECT})
    def patch(self, request: Request, pk: int) -> Response:
        from workorders.api_field import edit_strict

        wo = _visible(request, pk)
        if not (permissions.can_assign(request.user, wo) or permissions.on_crew(request.user, wo.crew_id)):
            raise PermissionDenied("viewers read work orders; dispatchers, supervisors and its crew edit them")
        return edit_strict(request, pk)


def _from_the_field(wo: WorkOrder) -> dict:
    """What the crew's tablets added (notes, materials, photos) and the clashing edits a supervisor settles."""
    from workorders.field_docs import conflict_json

    return {"instructions": wo.instructions, "site_notes": wo.site_notes, "open_conflicts": wo.open_conflicts,
            "conflicts": [conflict_json(c) for c in wo.conflicts.filter(status="open")],
            "notes": [{"text": n.text, "author": n.author_label, "occurred_at": n.occurred_at} for n in wo.notes.all()],
            "materials": [{"item": m.item, "quantity": float(m.quantity), "unit": m.unit, "author": m.author_label}
                          for m in wo.materials.all()],
            "photos": [{"id": str(p.pk), "url": f"/api/field/photos/{p.pk}", "taken_at": p.occurred_at}
                       for p in wo.photos.all()]}


class TransitionInput(serializers.Serializer):
    to = serializers.ChoiceField(choices=WorkOrderStatus.choices)
    crew = serializers.IntegerField(required=False)
    scheduled_start = serializers.DateTimeField(required=False)
    hold_reason = serializers.ChoiceField(choices=HoldReason.choices, required=False, default="")
    resolution = serializers.ChoiceField(choices=Resolution.choices, required=False, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    version = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs):
        if ("lon" in attrs) != ("lat" in attrs):
            raise serializers.ValidationError({"lat": "lon and lat come together"})
        return attrs


def _position(data: dict) -> Point | None:
    if "lon" not in data:
        return None
    return Point(*crs.storage_point(data["lon"], data["lat"]), srid=crs.storage_srid())


class WorkOrderTransitionApi(APIView):
    """Move a work order (the allowed-transition table decides; 409 with a code when it refuses)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Change a work order's status", request=TransitionInput,
                   responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        wo = _visible(request, pk)
        data = TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        if not permissions.can_move(request.user, wo, d["to"]):
            raise PermissionDenied(f"your role in {wo.department.code} does not allow moving work to {d['to']}")
        if "crew" in d and not permissions.can_assign(request.user, wo):
            raise PermissionDenied("only dispatchers and supervisors assign crews")
        try:
            moved = work_order_transition(
                work_order_id=wo.pk, to=d["to"], actor=request.user, crew_id=d.get("crew"),
                scheduled_start=d.get("scheduled_start"), hold_reason=d["hold_reason"], resolution=d["resolution"],
                note=d["note"], position=_position(d), expected_version=d.get("version"))
        except TransitionRefused as refused:
            return _refused(refused)
        return Response(_feature(_summary(work_selectors.work_order_detail(moved.pk)),
                                 crs.wgs84_lonlat_list([moved.location])[0]))


class AssignInput(serializers.Serializer):
    crew = serializers.IntegerField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    version = serializers.IntegerField(required=False, min_value=1)


class WorkOrderAssignApi(APIView):
    """Send a crew (taking the work from another crew if one holds it): dispatchers and supervisors."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Assign or reassign a crew", request=AssignInput,
                   responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        wo = _visible(request, pk)
        if not permissions.can_assign(request.user, wo):
            raise PermissionDenied("only dispatchers and supervisors of the department assign crews")
        data = AssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            moved = work_order_assign(work_order_id=wo.pk, crew_id=data.validated_data["crew"], actor=request.user,
                                      note=data.validated_data["note"],
                                      expected_version=data.validated_data.get("version"))
        except TransitionRefused as refused:
            return _refused(refused)
        return Response(_feature(_summary(work_selectors.work_order_detail(moved.pk)),
                                 crs.wgs84_lonlat_list([moved.location])[0]))


class WorkOrderBestCrewsApi(APIView):
    """The crews that can go now, best first (qualified, on shift, in area, with room; nearest): for those who
    assign (dispatchers, supervisors)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Best crews now", responses={200: OpenApiTypes.OBJECT},
                   parameters=[OpenApiParameter("limit", OpenApiTypes.INT)])
    def get(self, request: Request, pk: int) -> Response:
        wo = _visible(request, pk)
        if not permissions.can_assign(request.user, wo):
            raise PermissionDenied("only dispatchers and supervisors of the department choose crews")
        try:
            limit = max(1, min(50, int(request.query_params.get("limit", 5))))
        except ValueError:
            return Response({"limit": ["a number 1-50"]}, status=status.HTTP_400_BAD_REQUEST)
        ranked = crews_best_for(work_order=wo, limit=limit)
        return Response({"work_order": wo.pk, "crews": [
            {"id": r.crew.id, "code": r.crew.code, "travel_min": round(r.travel_s / 60, 1),
             "distance_m": round(r.crew.distance_m, 1), "load": r.crew.load, "max_load": r.crew.max_load}
            for r in ranked]})


class CrewListApi(APIView):
    """Active crews of the caller's departments with their last positions, as GeoJSON."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Crews and where they are", responses={200: OpenApiTypes.OBJECT},
                   parameters=[OpenApiParameter("department", OpenApiTypes.STR)])
    def get(self, request: Request) -> Response:
        codes = [c for c in request.query_params.get("department", "").split(",") if c] or None
        crews = list(work_selectors.crews_list(departments=permissions.visible_departments(request.user),
                                               department_codes=codes))
        points = crs.wgs84_lonlat_list([c.last_position for c in crews])
        return Response({"type": "FeatureCollection", "features": [
            _feature({"id": c.pk, "code": c.code, "name": c.name, "department": c.department.code,
                      "skills": c.skills, "last_seen_at": c.last_seen_at}, lonlat)
            for c, lonlat in zip(crews, points, strict=True)]})


class PositionInput(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    at = serializers.DateTimeField(required=False)
    accuracy_m = serializers.FloatField(required=False, min_value=0)


class CrewPositionApi(APIView):
    """A position ping from a crew's device (its members, or the department's dispatchers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Record a crew position", request=PositionInput,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        crew = Crew.objects.filter(pk=pk, active=True).first()
        if crew is None:
            raise NotFound("no such crew")
        allowed = (request.user.is_superuser or permissions.on_crew(request.user, crew.pk)
                   or permissions.roles(request.user, crew.department_id) & permissions.ASSIGNERS)
        if not allowed:
            raise PermissionDenied("only the crew's members or its dispatchers record its position")
        data = PositionInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        x, y = crs.storage_point(d["lon"], d["lat"])
        if not crs.in_storage_area(x, y):
            return Response({"lon": ["outside the area this server covers"]}, status=status.HTTP_400_BAD_REQUEST)
        ping = crew_position_record(crew_id=crew.pk, point=Point(x, y, srid=crs.storage_srid()), at=d.get("at"),
                                    accuracy_m=d.get("accuracy_m"))
        return Response({"crew": crew.pk, "at": ping.at}, status=status.HTTP_201_CREATED)


class CrewPlanApi(APIView):
    """A crew's stops for a day in its department's current plan, as GeoJSON points in visiting order
    (its members and the department's staff)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="A crew's day plan", responses={200: OpenApiTypes.OBJECT},
                   parameters=[OpenApiParameter("date", OpenApiTypes.DATE)])
    def get(self, request: Request, pk: int) -> Response:
        from workorders.day_plans import crew_plan

        crew = Crew.objects.filter(pk=pk).first()
        if crew is None or not (request.user.is_superuser or permissions.on_crew(request.user, crew.pk)
                                or permissions.roles(request.user, crew.department_id)):
            raise NotFound("no such crew")
        params = PlanParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        stops = crew_plan(crew_id=crew.pk, date=params.validated_data.get("date"))
        points = crs.wgs84_lonlat_list([s.work_order.location for s in stops])
        return Response({"type": "FeatureCollection", "crew": crew.code,
                         "plan": {"id": stops[0].plan_id, "version": stops[0].plan.version} if stops else None,
                         "features": [_feature({"id": s.work_order_id, "sequence": s.sequence,
                                                "title": s.work_order.title, "status": s.work_order.status,
                                                "arrive_at": s.arrive_at, "start_at": s.start_at, "end_at": s.end_at},
                                               lonlat) for s, lonlat in zip(stops, points, strict=True)]})


class PlanParams(serializers.Serializer):
    date = serializers.DateField(required=False)


class PlanRequestInput(PlanParams):
    seconds = serializers.FloatField(required=False, min_value=1, max_value=300, default=20)


class DepartmentPlanApi(APIView):
    """Ask for a new day plan of a department (solved in the worker); dispatchers and supervisors."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, summary="Plan a department's day", request=PlanRequestInput,
                   responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, code: str) -> Response:
        from fieldsvc.celery import enqueue
        from gis.models import Department

        department = Department.objects.filter(code=code).first()
        if department is None:
            raise NotFound("no such department")
        if not (request.user.is_superuser or permissions.roles(request.user, department.pk) & permissions.ASSIGNERS):
            raise PermissionDenied("only dispatchers and supervisors of the department plan its day")
        data = PlanRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        day = data.validated_data.get("date")
        if not enqueue("workorders.tasks.day_plan_make_task", department_id=department.pk,
                       date=day.isoformat() if day else None, seconds=data.validated_data["seconds"]):
            return Response({"detail": "the task queue is unreachable; try again shortly"},
                            status=status.HTTP_503_SERVICE_UNAVAILABLE)
        audit_record(action="day_plan.request", actor=request.user, object_type="department", object_id=department.pk,
                     department_id=department.pk, summary=f"day plan for {day or 'today'} requested",
                     after={"date": day.isoformat() if day else None, "seconds": data.validated_data["seconds"]})
        return Response({"department": code, "date": day, "status": "queued"}, status=status.HTTP_202_ACCEPTED)
