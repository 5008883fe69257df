"""The audit log in the admin: read-only for everyone, superusers included (the log is append-only)."""

from django.contrib import admin

from gis.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "department_id", "client_address")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "object_id", "summary")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
