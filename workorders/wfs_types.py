"""WFS feature types of this app: public service requests (no reporter details) and, for staff, work orders."""

from django.http import HttpRequest
from gisserver.features import FeatureType, field

from gis.wfs.types import feature_type
from workorders import permissions
from workorders.models import ServiceRequest, WorkOrder


def service_request_fields() -> list:
    """What Open311 shows anyone, minus free text (a description may name people): never email, phone, names,
    device or account ids. New FeatureField objects each time: django-gisserver binds each to one type."""
    return [
        "id", "reference",
        field("service_code", model_attribute="service.code"),
        field("service_name", model_attribute="service.name"),
        "status", "detailed_status",
        field("agency_responsible", model_attribute="department.name"),
        "address_string", "zipcode", "requested_at", "updated_at", "expected_at", "closed_at", "channel",
        "geom",
    ]


def work_order_fields() -> list:
    return [
        "id", "title", "status", "priority",
        field("department", model_attribute="department.code"),
        field("service_code", model_attribute="service.code"),
        field("crew", model_attribute="crew.code"),
        "due_at", "scheduled_start", "actual_start", "actual_end", "resolution", "closed_at", "created_at",
        "updated_at", "location",
    ]


def wfs_feature_types(request: HttpRequest) -> list[FeatureType]:
    types = [feature_type(
        ServiceRequest.objects.filter(geom__isnull=False).select_related("service", "department").order_by("id"),
        name="service_request", title="Service requests",
        abstract="311 reports as Open311 publishes them, without the reporters' details.",
        fields=service_request_fields())]
    user = request.user
    if user.is_authenticated and (user.is_staff or user.is_superuser):
        work = WorkOrder.objects.filter(location__isnull=False).select_related("department", "service", "crew")
        departments = permissions.visible_departments(user)
        if departments is not None:  # staff see their departments' work; superusers all
            work = work.filter(department_id__in=departments)
        types.append(feature_type(work.order_by("id"), name="work_order", title="Work orders",
                                  abstract="Work orders of the departments you work for.", fields=work_order_fields()))
    return types
