"""The crew API (/api/field/, docs/field-api.md): a crew's work as documents, the change feed, and writes
that carry the version they were based on and are done once per client key.

Thin: parse, check the caller, call one core function (field_docs, field_feed, field_sync, field_edits),
format. Errors are 4xx with {"code", "detail"}.
"""

import re
import uuid
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import BasicAuthentication, SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workorders import field_docs, field_edits, field_feed, field_sync, idempotency, permissions, states
from workorders.models import AssetCondition, HoldReason, Resolution, WorkOrder, WorkOrderStatus

TAGS = ["Crews"]
# Token first: an unsigned request gets 401 with a challenge (not 403), so a tablet knows to sign in again.
AUTH = [TokenAuthentication, SessionAuthentication, BasicAuthentication]
_ETAG = re.compile(r'^\s*"(\d{1,9})"\s*$')
_KEY = re.compile(r"^[\x21-\x7e]{8,200}$")  # printable ASCII, no spaces: UUIDs and the like


def error(code: str, detail: str, http: int, **more) -> Response:
    return Response({"code": code, "detail": detail} | more, status=http)


class CrewView(APIView):
    """A crew member's view: signed in by session, token or password, and on at least one crew."""

    authentication_classes = AUTH
    permission_classes = [IsAuthenticated]

    def crews(self, request: Request) -> list[int]:
        crews = field_docs.crews_of(request.user)
        if not crews:
            raise NotFound("you are not on an active crew")
        return crews

    def in_scope(self, request: Request, pk: int) -> None:
        """404 unless the work order is in the caller's crews' scope (the same answer whether it exists or not)."""
        if not field_docs.in_scope(self.crews(request)).filter(pk=pk).exists():
            raise NotFound("no such work order in your crew's work")

    def document(self, request: Request, pk: int) -> dict:
        self.in_scope(request, pk)
        return field_docs.documents(request.user, [pk])[pk]


def _key(request: Request, *, required: bool) -> str | None | Response:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return error("idempotency_key_required", "send an Idempotency-Key header (a UUID)", 400) if required else None
    if not _KEY.match(key):
        return error("idempotency_key_invalid", "an Idempotency-Key is 8 to 200 printable characters", 400)
    return f"key:{key}"


def _answered(code: int, body: dict, replayed: bool, headers: dict | None = None) -> Response:
    response = Response(body, status=code, headers=headers)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


class FieldTokenApi(ObtainAuthToken):
    """A token for a tablet (Authorization: Token …): it does not expire, so a long time offline is fine."""

    @extend_schema(tags=TAGS, summary="Get a crew member's token", responses={200: OpenApiTypes.OBJECT})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class FieldManifestApi(CrewView):
    @extend_schema(tags=TAGS, summary="Who I am, my crews, the feed cursor and the offline map area",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        crews = self.crews(request)
        user = request.user
        rows = user.crews.filter(pk__in=crews).select_related("department").order_by("code")
        return Response({
            "user": {"id": user.pk, "username": user.get_username(),
                     "name": user.get_full_name() or user.get_username()},
            "crews": [{"id": c.pk, "code": c.code, "name": c.name, "department": c.department.code} for c in rows],
            "server_time": timezone.now(), "cursor": str(field_feed.cursor_now()),
            "map": {"bbox": field_docs.map_area(crews), "min_zoom": 12, "max_zoom": 16,
                    "tiles": "/tiles/{layer}/{z}/{x}/{y}.mvt"},
            "limits": {"photo_max_bytes": settings.FIELDSVC_MEDIA_MAX_BYTES,
                       "batch_max": settings.FIELDSVC_FIELD_BATCH_MAX},
            "options": {"conditions": _choices(AssetCondition), "hold_reasons": _choices(HoldReason),
                        "resolutions": _choices(Resolution), "statuses": _choices(WorkOrderStatus),
                        # A crew's own moves from each status (the server still decides each one).
                        "transitions": {status: sorted(set(after) & permissions.FIELD_STEPS)
                                        for status, after in states.ALLOWED.items()}},
        })


def _choices(choices) -> list[dict]:
    return [{"code": c, "name": n} for c, n in choices.choices]


class FieldWorkOrderListApi(CrewView):
    @extend_schema(tags=TAGS, summary="My crew's work now, and where the change feed continues",
                   operation_id="field_work_orders_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        crews = self.crews(request)
        cursor = field_feed.cursor_now()  # before the read: nothing committed later is missed
        ids = list(field_docs.in_scope(crews).values_list("pk", flat=True))
        docs = field_docs.documents(request.user, ids)
        ordered = sorted(docs.values(), key=lambda d: ((d["plan"] or {}).get("sequence", 10_000), d["priority"],
                                                       d["due_at"] is None, d["due_at"] or 0, d["id"]))
        return Response({"work_orders": ordered, "cursor": str(cursor)})


class FieldWorkOrderApi(CrewView):
    @extend_schema(tags=TAGS, summary="One work order (ETag: its version)", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        doc = self.document(request, pk)
        etag = f'"{doc["version"]}"'
        if request.headers.get("If-None-Match", "").strip() == etag:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(doc, headers={"ETag": etag})

    @extend_schema(tags=TAGS, summary="Edit fields (If-Match required; 412 with the current state when stale)",
                   request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 412: OpenApiTypes.OBJECT,
                                                           428: OpenApiTypes.OBJECT})
    def patch(self, request: Request, pk: int) -> Response:
        self.in_scope(request, pk)
        return edit_strict(request, pk)


def edit_strict(request: Request, pk: int) -> Response:
    """A PATCH guarded by If-Match, for crews and dispatchers alike."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return error("precondition_required", "send If-Match with the ETag (version) the edit was made on", 428)
    match = _ETAG.match(raw)
    if not match:
        return error("bad_if_match", 'If-Match is the ETag as given, e.g. "7"', 400)
    key = _key(request, required=False)
    if isinstance(key, Response):
        return key
    wo = WorkOrder.objects.get(pk=pk)
    staff = request.user.is_superuser or bool(permissions.roles(request.user, wo.department_id) & permissions.ASSIGNERS)
    try:
        changes = field_edits.edit_paths(request.data, staff=staff)
    except field_edits.EditInvalid as refused:
        return error(refused.code, refused.message, 400, field=refused.field)
    base = int(match.group(1))

    def action() -> tuple[int, dict]:
        try:
            done = field_edits.work_order_edit(
                work_order_id=pk, changes=changes, base_version=base, actor=request.user, strict=True,
                actor_label=request.user.get_full_name() or request.user.get_username())
        except field_edits.EditStale as stale:
            return 412, {"code": "stale", "detail": f"the work order is at version {stale.version}, not {base}",
                         "current": field_docs.documents(request.user, [pk])[pk], "yours": request.data,
                         "changed": stale.changed}
        except field_edits.EditInvalid as refused:
            return 400, {"code": refused.code, "detail": refused.message, "field": refused.field}
        return 200, field_docs.documents(request.user, [done.work_order.pk])[done.work_order.pk]

    if key is None:
        code, body = action()
        answer = idempotency.Answer(code, body, False)
    else:
        try:
            answer = idempotency.once(user=request.user, key=key, action=action, keep=lambda code: code != 412,
                                      payload={"pk": pk, "base": base, "body": request.data})
        except idempotency.KeyReused:
            return error("idempotency_key_reused", "this Idempotency-Key was used for a different request", 422)
        except idempotency.InFlight:
            return error("in_flight", "the first request with this Idempotency-Key is still running", 409)
    shown = answer.body if answer.status_code == 200 else answer.body.get("current") or {}
    version = shown.get("version")
    return _answered(answer.status_code, answer.body, answer.replayed, {"ETag": f'"{version}"'} if version else None)


class TransitionBody(serializers.Serializer):
    to = serializers.ChoiceField(choices=WorkOrderStatus.choices)
    occurred_at = serializers.DateTimeField()
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    accuracy_m = serializers.FloatField(required=False, min_value=0)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    resolution = serializers.ChoiceField(choices=Resolution.choices, required=False)
    hold_reason = serializers.ChoiceField(choices=HoldReason.choices, required=False)


def _position(body: dict) -> dict | None:
    if "lon" not in body and "lat" not in body:
        return None
    return {"lon": body.get("lon"), "lat": body.get("lat"), "accuracy_m": body.get("accuracy_m")}


class FieldTransitionApi(CrewView):
    @extend_schema(tags=TAGS, summary="Change the status (Idempotency-Key required; the device's time and place)",
                   request=TransitionBody, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        self.in_scope(request, pk)
        key = _key(request, required=True)
        if isinstance(key, Response):
            return key
        body = TransitionBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = {k: v for k, v in request.data.items() if k in ("to", "note", "resolution", "hold_reason")}
        raw = {"id": key, "type": "transition", "work_order": pk, "occurred_at": request.data["occurred_at"],
               "position": _position(request.data), "data": data}
        return _one(request, raw, key)


def _one(request: Request, raw: dict, key: str) -> Response:
    """A single mutation through the same path as the batch; the document comes back when it was done."""
    raw = raw | {"id": _as_uuid(raw["id"])}
    code, result, replayed = field_sync.mutation_once(user=request.user, raw=raw,
                                                      device_id=request.headers.get("Device-Id", "")[:100], key=key)
    if result.get("status") == "rejected":
        return _answered(code, {"code": result["code"], "detail": result["detail"]}, replayed)
    if result.get("status") == "retry":
        return _answered(409, {"code": "in_flight", "detail": result["detail"]}, False)
    pk = raw.get("work_order")
    body = result | ({"work_order": field_docs.documents(request.user, [pk]).get(pk)} if pk else {})
    return _answered(code, body, replayed)


def _as_uuid(value: str) -> str:
    """A UUID for the mutation: the client's own when it is one, else one derived from its key."""
    try:
        return str(uuid.UUID(str(value).removeprefix("key:")))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, str(value)))


class NoteBody(serializers.Serializer):
    id = serializers.UUIDField()
    text = serializers.CharField(max_length=4000)
    occurred_at = serializers.DateTimeField()
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)


class MaterialBody(serializers.Serializer):
    id = serializers.UUIDField()
    item = serializers.CharField(max_length=120)
    quantity = serializers.DecimalField(max_digits=10, decimal_places=3, min_value=Decimal("0.001"))
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True)
    task = serializers.IntegerField(required=False)
    occurred_at = serializers.DateTimeField()


class FieldNoteApi(CrewView):
    @extend_schema(tags=TAGS, summary="Add a note (its id is the device's UUID: a repeat is the same note)",
                   request=NoteBody, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        self.in_scope(request, pk)
        NoteBody(data=request.data).is_valid(raise_exception=True)
        raw = {"id": request.data["id"], "type": "note", "work_order": pk, "occurred_at": request.data["occurred_at"],
               "position": _position(request.data), "data": {"text": request.data["text"]}}
        return _one(request, raw, f"note:{request.data['id']}")


class FieldMaterialApi(CrewView):
    @extend_schema(tags=TAGS, summary="Record material used (its id is the device's UUID)",
                   request=MaterialBody, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        self.in_scope(request, pk)
        MaterialBody(data=request.data).is_valid(raise_exception=True)
        data = {k: request.data[k] for k in ("item", "quantity", "unit", "task") if k in request.data}
        raw = {"id": request.data["id"], "type": "material", "work_order": pk,
               "occurred_at": request.data["occurred_at"], "data": data}
        return _one(request, raw, f"material:{request.data['id']}")


class ChangesParams(serializers.Serializer):
    since = serializers.CharField(max_length=80, help_text="the cursor from the last page, the list or the manifest")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=200)


class FieldChangesApi(CrewView):
    @extend_schema(tags=TAGS, summary="What changed in my crew's work since a cursor (tombstones included)",
                   parameters=[ChangesParams], responses={200: OpenApiTypes.OBJECT, 410: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        crews = self.crews(request)
        params = ChangesParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            since = field_feed.cursor_parse(params.validated_data["since"])
        except field_feed.CursorExpired as expired:
            return error("cursor_expired", f"{expired}: download /api/field/work-orders again", 410)
        except field_feed.CursorInvalid as invalid:
            return error("cursor_invalid", str(invalid), 400)
        page = field_feed.changes_since(request.user, crew_ids=crews, since=since,
                                        limit=params.validated_data["limit"])
        return Response({"changes": page.changes, "next_cursor": str(page.next_cursor), "has_more": page.has_more})


# Request bodies as the contract (docs/field-api.md) gives them, so clients and schemathesis send real ones.
POSITION = inline_serializer("FieldPosition", fields={
    "lon": serializers.FloatField(), "lat": serializers.FloatField(),
    "accuracy_m": serializers.FloatField(required=False)})
SYNC_BODY = inline_serializer("FieldSyncBody", fields={
    "device_id": serializers.CharField(max_length=100, required=False),
    "mutations": inline_serializer("FieldMutation", many=True, fields={
        "id": serializers.UUIDField(), "type": serializers.ChoiceField(field_sync.TYPES),
        "work_order": serializers.IntegerField(required=False, help_text="all but position"),
        "occurred_at": serializers.DateTimeField(), "base_version": serializers.IntegerField(required=False),
        "position": POSITION.__class__(required=False), "data": serializers.DictField(required=False)})})
PINGS_BODY = inline_serializer("FieldPings", fields={"pings": inline_serializer("FieldPing", many=True, fields={
    "lon": serializers.FloatField(), "lat": serializers.FloatField(), "at": serializers.DateTimeField(),
    "accuracy_m": serializers.FloatField(required=False)})})


class FieldSyncApi(CrewView):
    @extend_schema(tags=TAGS, summary="Send the outbox: each queued change applied once, each with its result",
                   request=SYNC_BODY, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        self.crews(request)
        if not isinstance(request.data, dict):
            return error("invalid", 'the body is {"device_id", "mutations": [...]}', 400)
        mutations, device = request.data.get("mutations"), request.data.get("device_id", "")
        if not isinstance(mutations, list):
            return error("invalid", "mutations is a list", 400)
        if len(mutations) > settings.FIELDSVC_FIELD_BATCH_MAX:
            return error("batch_too_large", f"at most {settings.FIELDSVC_FIELD_BATCH_MAX} mutations per batch", 413)
        if not isinstance(device, str) or len(device) > 100 or "\x00" in device:
            return error("invalid", "device_id is text of at most 100 characters", 400)
        results = field_sync.sync_push(user=request.user, device_id=device, mutations=mutations)
        return Response({"results": results})


class PlanParams(serializers.Serializer):
    date = serializers.DateField(required=False)


class FieldPlanApi(CrewView):
    @extend_schema(tags=TAGS, summary="My crews' planned stops and route", parameters=[PlanParams],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        crews = self.crews(request)
        params = PlanParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response({"plans": field_docs.plans(crews, date=params.validated_data.get("date"))})


class FieldPositionsApi(CrewView):
    @extend_schema(tags=TAGS, summary="Position pings (the track; a late ping does not move the crew back)",
                   request=PINGS_BODY, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        self.crews(request)
        pings = request.data.get("pings") if isinstance(request.data, dict) else None
        if not isinstance(pings, list) or not 0 < len(pings) <= 1000:
            return error("invalid", "pings is a list of 1 to 1000 {lon, lat, at, accuracy_m}", 400)
        parsed = []
        for n, ping in enumerate(pings):  # all checked before any is stored
            try:
                parsed.append(field_sync.mutation_parse({
                    "id": str(uuid.uuid4()), "type": "position", "position": ping,
                    "occurred_at": ping.get("at") if isinstance(ping, dict) else None}))
            except field_sync.MutationInvalid as refused:
                return error(refused.code, f"ping {n}: {refused.message}", 400)
        for m in parsed:
            field_sync.mutation_apply(user=request.user, m=m)
        return Response({"recorded": len(pings)}, status=status.HTTP_201_CREATED)


# --- Supervisors: conflicts -------------------------------------------------------------------------

class ConflictParams(serializers.Serializer):
    status = serializers.ChoiceField(choices=["open", "resolved"], required=False, default="open")


class ConflictListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["Dispatch"], summary="Clashing edits kept for a supervisor", parameters=[ConflictParams],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        from workorders.models import WorkOrderConflict

        params = ConflictParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = WorkOrderConflict.objects.filter(status=params.validated_data["status"]).select_related("work_order")
        departments = permissions.visible_departments(request.user)
        if departments is not None:
            rows = rows.filter(work_order__department_id__in=departments)
        return Response({"conflicts": [field_docs.conflict_json(c) | {"work_order": c.work_order_id,
                                                                     "title": c.work_order.title}
                                       for c in rows.order_by("received_at", "id")[:500]]})


class ResolveBody(serializers.Serializer):
    choose = serializers.ChoiceField(choices=["theirs", "yours", "value"])
    value = serializers.JSONField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class ConflictResolveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["Dispatch"], summary="Settle a conflict (supervisors and dispatchers)", request=ResolveBody,
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int, conflict: int) -> Response:
        wo = WorkOrder.objects.filter(pk=pk).first()
        if wo is None or not permissions.can_see(request.user, wo):
            raise NotFound("no such work order")
        if not permissions.can_assign(request.user, wo):
            return error("not_permitted", "supervisors and dispatchers of the department settle conflicts", 403)
        body = ResolveBody(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        if d["choose"] == "value" and "value" not in d:
            return error("invalid", "choose=value needs a value", 400, field="value")
        try:
            settled = field_edits.conflict_resolve(
                work_order_id=pk, conflict_id=conflict, choose=d["choose"], value=d.get("value"), note=d["note"],
                actor=request.user, actor_label=request.user.get_full_name() or request.user.get_username())
        except field_edits.EditInvalid as refused:
            return error(refused.code, refused.message, 404 if refused.code == "unknown_conflict" else 409
                         if refused.code == "conflict_resolved" else 400)
        return Response(field_docs.conflict_json(settled) | {"chosen": settled.chosen,
                                                             "version": WorkOrder.objects.get(pk=pk).version})

