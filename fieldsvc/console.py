"""The dispatcher console (/console/): a full-screen MapLibre map of the city's open work for staff.

A client of /tiles/ (the layers), /api/console/ (queue, request detail) and the dispatcher API
(/api/work-orders/…): the page itself only hands the script what its filters offer. MapLibre is loaded
as on the map page (fieldsvc/maps.py): an import map to the copy in fieldsvc/static/fieldsvc/vendor/.
"""

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gis.models import Department
from workorders import permissions, states
from workorders.models import DetailedStatus, HoldReason, Resolution, Service, WorkOrderStatus


@require_GET
@staff_member_required  # anonymous visitors go to the admin's sign-in page, and come back
def console_page(request: HttpRequest) -> HttpResponse:
    seen = permissions.visible_departments(request.user)
    departments = Department.objects.order_by("name")
    services = Service.objects.filter(active=True, informational=False).select_related("department")
    if seen is not None:
        departments = departments.filter(pk__in=seen)
        services = services.filter(department_id__in=seen)
    options = {
        "departments": [{"code": d.code, "name": d.name} for d in departments],
        "services": [{"code": s.code, "name": s.name, "department": s.department.code}
                     for s in services.order_by("name")],
        "workOrderStatuses": [{"code": c, "name": n} for c, n in WorkOrderStatus.choices],
        "requestStatuses": [{"code": c, "name": n} for c, n in DetailedStatus.choices],
        "allowed": {status: sorted(after) for status, after in states.ALLOWED.items()},
        "holdReasons": [{"code": c, "name": n} for c, n in HoldReason.choices],
        "resolutions": [{"code": c, "name": n} for c, n in Resolution.choices],
    }
    # FIELDSVC_CONSOLE_POLL_S (seconds, default 5): how often the page asks for the queue and fresh live tiles.
    poll_ms = round(float(getattr(settings, "FIELDSVC_CONSOLE_POLL_S", 5)) * 1000)
    return render(request, "fieldsvc/console.html", {"options": options | {"pollMs": max(poll_ms, 500)}})
