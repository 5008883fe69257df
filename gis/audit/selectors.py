"""Reading the audit log: newest first, filtered, limited to the departments a reader oversees."""

import datetime as dt

from django.db.models import QuerySet

from gis.audit.models import AuditEvent


def audit_events_list(*, departments: set[int] | None, actor: str = "", action: str = "", object_type: str = "",
                      object_id: str = "", department_id: int | None = None, since: dt.datetime | None = None,
                      until: dt.datetime | None = None) -> QuerySet[AuditEvent]:
    """departments None: every row (admins); a set: only rows of those departments (supervisors)."""
    rows = AuditEvent.objects.order_by("-at", "-id")
    if departments is not None:
        rows = rows.filter(department_id__in=departments)
    if actor:
        rows = rows.filter(actor_label=actor)
    if action:  # "work_order" matches every work_order.* action
        rows = rows.filter(action=action) if "." in action else rows.filter(action__startswith=action + ".")
    if object_type:
        rows = rows.filter(object_type=object_type)
    if object_id:
        rows = rows.filter(object_id=object_id)
    if department_id is not None:
        rows = rows.filter(department_id=department_id)
    if since is not None:
        rows = rows.filter(at__gte=since)  # audit_at_idx
    if until is not None:
        rows = rows.filter(at__lt=until)
    return rows
