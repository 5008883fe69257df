"""Django admin for the catalogue, API keys and service requests (reporters' details for staff only)."""

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.utils import timezone

from workorders.models import ApiKey, Follower, RequestNote, Service, ServiceAttribute, ServiceGroup, ServiceRequest


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


@admin.register(ServiceRequest)
class ServiceRequestAdmin(GISModelAdmin):
    gis_widget_kwargs = {"attrs": {"default_lon": -71.07, "default_lat": 42.33, "default_zoom": 12}}
    list_display = ("reference", "service", "status", "detailed_status", "department", "district", "requested_at",
                    "channel")
    list_filter = ("status", "detailed_status", "channel", "department", "service__group")
    search_fields = ("reference", "description", "address_string", "external_id")
    date_hierarchy = "requested_at"
    raw_id_fields = ("duplicate_of", "district")
    readonly_fields = ("created_at", "updated_at", "token", "api_key", "idempotency_key", "payload_sha256")
    inlines = [RequestNoteInline, FollowerInline]
    list_per_page = 50
    show_full_result_count = False
