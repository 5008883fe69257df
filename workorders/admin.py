"""Django admin for the catalogue, API keys and service requests (reporters' details for staff only)."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.gis.admin import GISModelAdmin
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from fieldsvc.celery import enqueue
from workorders.linking import requests_link_batch
from workorders.models import (
    ApiKey,
    Follower,
    RequestLink,
    RequestNote,
    RoutingRule,
    Service,
    ServiceAttribute,
    ServiceGroup,
    ServiceRequest,
)


@admin.register(ServiceGroup)
class ServiceGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "code")


class ServiceAttributeInline(admin.StackedInline):
    model = ServiceAttribute
    extra = 0
    ordering = ("order",)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "group", "department", "service_type", "sla_hours", "informational", "active")
    list_filter = ("group", "department", "informational", "active", "service_type")
    search_fields = ("name", "code", "keywords")
    filter_horizontal = ("asset_types", "related")
    inlines = [ServiceAttributeInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Edited questions change the definition: move the service's (and discovery's) changeset.
        Service.objects.filter(pk=form.instance.pk).update(updated_at=timezone.now())


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py open311_key create` (shown once); here they are named or revoked."""

    list_display = ("name", "prefix", "active", "rate_per_minute", "created_at")
    readonly_fields = ("prefix", "key_sha256", "created_at")
    list_filter = ("active",)

    def has_add_permission(self, request):
        return False


class RequestNoteInline(admin.TabularInline):
    model = RequestNote
    extra = 0
    readonly_fields = ("created_at",)


class FollowerInline(admin.TabularInline):
    model = Follower
    extra = 0


_LINK_FIELDS = ("state", "asset_claim", "asset", "asset_distance_m", "asset_outcome", "search_radius_m",
                "department", "rule", "reclassified_from", "priority", "explanation", "utilities_beneath", "linked_at")


def _utilities_beneath(link: RequestLink) -> str:
    lines = [f"{u['kind']} {u['type']} {u['external_id']}: {u['distance_m']:.1f} m"
             + (f", {u['along_m']:.1f} m along the line" if u.get("along_m") is not None else "")
             for u in link.utilities]
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines)) or "—"


class RequestLinkInline(admin.StackedInline):
    """What linking found and why routing sent the request where it went (re-link with the action)."""

    model = RequestLink
    can_delete = False
    fields = readonly_fields = _LINK_FIELDS
    verbose_name = verbose_name_plural = "asset, utilities and routing"

    @admin.display(description="utilities beneath")
    def utilities_beneath(self, obj):
        return _utilities_beneath(obj)

    def has_add_permission(self, request, obj=None):
        return False


@admin.action(description="Re-link and re-route the selected requests")
def relink(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    if len(ids) < settings.FIELDSVC_LINK_MEMORY_MIN_BATCH:  # a few: done now, the page shows the result
        done = requests_link_batch(request_ids=ids, force=True)
        modeladmin.message_user(request, f"{done} request(s) linked and routed again.")
    elif enqueue("workorders.tasks.requests_link_task", request_ids=ids, force=True):  # many: not in a page view
        modeladmin.message_user(request, f"{len(ids)} requests are being linked and routed again by the worker.")
    else:
        modeladmin.message_user(request, "The task queue is unreachable: nothing was re-linked; try again later.",
                                level=messages.ERROR)


@admin.register(ServiceRequest)
class ServiceRequestAdmin(GISModelAdmin):
    gis_widget_kwargs = {"attrs": {"default_lon": -71.07, "default_lat": 42.33, "default_zoom": 12}}
    list_display = ("reference", "service", "status", "detailed_status", "department", "district", "requested_at",
                    "channel")
    list_filter = ("status", "detailed_status", "channel", "department", "service__group")
    search_fields = ("reference", "description", "address_string", "external_id")
    date_hierarchy = "requested_at"
    raw_id_fields = ("duplicate_of", "district", "work_order")
    readonly_fields = ("created_at", "updated_at", "token", "api_key", "idempotency_key", "payload_sha256")
    inlines = [RequestLinkInline, RequestNoteInline, FollowerInline]
    actions = [relink]
    list_per_page = 50
    show_full_result_count = False


@admin.register(RequestLink)
class RequestLinkAdmin(admin.ModelAdmin):
    """Linking results across requests: filter the flagged ones (a named asset unknown or far away)."""

    list_display = ("request", "state", "asset", "asset_distance_m", "asset_outcome", "department", "rule",
                    "priority", "linked_at")
    list_filter = ("state", "asset_outcome", "department", "rule", "priority")
    search_fields = ("request__reference", "asset_claim", "explanation")
    fields = readonly_fields = ("request", *_LINK_FIELDS)
    list_select_related = ("request", "asset", "department", "rule")
    actions = [relink]  # a link's key is its request's id
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description="utilities beneath")
    def utilities_beneath(self, obj):
        return _utilities_beneath(obj)

    def has_add_permission(self, request):
        return False


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """The routing table: tried in order, the first rule whose conditions all hold decides."""

    list_display = ("order", "name", "active", "department", "reclassify_to", "priority_bump")
    list_display_links = ("name",)
    list_editable = ("order", "active")
    list_filter = ("active", "department")
    search_fields = ("name", "note", "words")
    filter_horizontal = ("services", "asset_types", "districts")
    fieldsets = (
        (None, {"fields": ("order", "name", "active", "note")}),
        ("When (every condition given must hold; leave empty for any)", {"fields": (
            "services", "asset_types", "utility_kinds", "utility_types", "utility_within_m", "utility_max_depth_m",
            "utility_min_age_years", "words", "districts", "hour_from", "hour_to", "weekdays")}),
        ("Then", {"fields": ("department", "reclassify_to", "priority_bump")}),
    )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Conditions are many-to-many: touch the rule after them so every process re-reads the table.
        RoutingRule.objects.filter(pk=form.instance.pk).update(updated_at=timezone.now())

from workorders import admin_work  # noqa: E402, F401 - work orders, crews and SLAs register themselves
