"""Dispatcher console reads: the queue of unassigned and overdue work, and a request in full.

Thin like workorders/api_work.py (whose helpers it shares): check the caller, call one selector, format.
Staff only, and only the departments the caller has a role in (superusers: all).
"""

import datetime as dt

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workorders import permissions, work_selectors
from workorders.api_work import _lonlat
from workorders.models import ServiceRequest

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
        points = _lonlat([wo.location for wo in rows])
        return Response({"at": now, "count": len(rows), "items": [
            {"id": wo.pk, "title": wo.title, "status": wo.status, "priority": wo.priority,
             "department": wo.department.code, "service": wo.service.code, "service_name": wo.service.name,
             "crew": wo.crew.code if wo.crew_id else None, "due_at": wo.due_at,
             "breach_in_s": _breach(wo.due_at, now), "overdue": wo.due_at is not None and wo.due_at < now,
             "created_at": wo.created_at, "version": wo.version, "lonlat": lonlat}
            for wo, lonlat in zip(rows, points, strict=True)]})


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
    explanation, its history and SLA clock. Reporters' contact details are left out: the console never needs
    them."""

    permission_classes = [IsAdminUser]

    @extend_schema(tags=TAGS, summary="A request in full", responses={200: OpenApiTypes.OBJECT},
                   parameters=[OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH)])
    def get(self, request: Request, pk: int) -> Response:
        sr = work_selectors.request_detail_staff(pk)
        seen = permissions.visible_departments(request.user)
        if sr is None or (seen is not None and sr.department_id not in seen):
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
            "lonlat": _lonlat([sr.geom])[0], "duplicate_of": sr.duplicate_of.reference if sr.duplicate_of_id else None,
            "duplicate_of_id": sr.duplicate_of_id,
            "work_order": {"id": wo.pk, "status": wo.status, "version": wo.version} if wo else None,
            "link": _link(sr),
            "history": [{"at": n.created_at, "kind": n.kind, "status": n.detailed_status, "note": n.description,
                         "by": n.author} for n in sr.notes.all()],
        })
