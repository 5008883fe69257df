"""GET /api/audit: the audit log of staff actions, for supervisors (their departments' rows) and admins (all)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gis.audit.selectors import audit_events_list
from gis.models import Department
from workorders import permissions


class AuditParams(serializers.Serializer):
    actor = serializers.CharField(required=False, default="", max_length=150, help_text="a username")
    action = serializers.CharField(required=False, default="", max_length=60,
                                   help_text="an action (work_order.assign) or its family (work_order)")
    object_type = serializers.CharField(required=False, default="", max_length=60)
    object_id = serializers.CharField(required=False, default="", max_length=64)
    department = serializers.SlugRelatedField(slug_field="code", queryset=Department.objects.all(), required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class AuditEventListApi(APIView):
    """Staff actions, newest first: who, when, what, to which object, from which address."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["Audit"], summary="Audit log of staff actions", parameters=[AuditParams],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        departments = permissions.audit_departments(request.user)
        if departments is not None and not departments:
            raise PermissionDenied("the audit log is for department supervisors and admins")
        params = AuditParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        p = params.validated_data
        rows = audit_events_list(departments=departments, actor=p["actor"], action=p["action"],
                                 object_type=p["object_type"], object_id=p["object_id"],
                                 department_id=p["department"].pk if p.get("department") else None,
                                 since=p.get("since"), until=p.get("until"))
        pager = LimitOffsetPagination()
        page = pager.paginate_queryset(rows, request, view=self)
        return Response({"count": pager.count, "next": pager.get_next_link(), "previous": pager.get_previous_link(),
                         "events": [{"id": e.pk, "at": e.at, "actor": e.actor_label, "action": e.action,
                                     "object_type": e.object_type, "object_id": e.object_id,
                                     "department_id": e.department_id, "summary": e.summary, "before": e.before,
                                     "after": e.after, "client_address": e.client_address,
                                     "user_agent": e.user_agent} for e in page]})
