"""Django admin for work orders, crews and service levels. A work order's status is changed only by
transitions (workorders/work.py), so here it is read-only: the history shows every step."""

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from workorders.models import (
    Crew,
    DepartmentRole,
    Holiday,
    ServiceRequest,
    SlaEscalation,
    SlaPolicy,
    WorkCalendar,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderTask,
)

MAP = {"attrs": {"default_lon": -71.07, "default_lat": 42.33, "default_zoom": 12}}


class WorkOrderTaskInline(admin.TabularInline):
    model = WorkOrderTask
    extra = 0
    raw_id_fields = ("asset",)
    fields = ("sequence", "description", "asset", "status", "estimated_minutes", "required_skills", "done_at")


class WorkOrderEventInline(admin.TabularInline):
    model = WorkOrderEvent
    extra = 0
    fields = readonly_fields = ("at", "from_status", "to_status", "actor_label", "note", "position")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CarriedRequestInline(admin.TabularInline):
    model = ServiceRequest
    fk_name = "work_order"
    extra = 0
    fields = readonly_fields = ("reference", "service", "status", "detailed_status", "requested_at")
    can_delete = False
    verbose_name_plural = "requests carried"

    def has_add_permission(self, request, obj=None):
        return False


class SlaEscalationInline(admin.TabularInline):
    model = SlaEscalation
    extra = 0
    fields = readonly_fields = ("level", "due_at", "at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkOrder)
class WorkOrderAdmin(GISModelAdmin):
    gis_widget_kwargs = MAP
    list_display = ("__str__", "status", "department", "service", "priority", "crew", "due_at", "created_at")
    list_filter = ("status", "department", "priority", "service")
    search_fields = ("title", "requests__reference")
    date_hierarchy = "created_at"
    raw_id_fields = ("crew",)
    readonly_fields = ("status", "version", "held_from", "hold_reason", "resolution", "actual_start", "actual_end",
                       "closed_at", "sla_hours", "sla_clock", "warn_at", "due_at", "created_at", "updated_at")
    inlines = [WorkOrderTaskInline, CarriedRequestInline, WorkOrderEventInline, SlaEscalationInline]
    list_select_related = ("department", "service", "crew")
    list_per_page = 50
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # made from requests (or by a dispatcher through the API), with their SLA


@admin.register(Crew)
class CrewAdmin(GISModelAdmin):
    gis_widget_kwargs = MAP
    list_display = ("name", "code", "department", "shift_start", "shift_end", "max_open_work_orders",
                    "last_seen_at", "active")
    list_filter = ("department", "active")
    search_fields = ("name", "code", "skills")
    filter_horizontal = ("members",)
    readonly_fields = ("last_position", "last_seen_at")


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(WorkCalendar)
class WorkCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "department", "time_zone")
    inlines = [HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("service", "priority", "hours", "clock", "warning_fraction")
    list_filter = ("clock", "service__department")
    search_fields = ("service__name", "service__code")


@admin.register(DepartmentRole)
class DepartmentRoleAdmin(admin.ModelAdmin):
    """Who dispatches, supervises or watches which department's work (the dispatcher API's rights)."""

    list_display = ("user", "department", "role")
    list_filter = ("role", "department")
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
