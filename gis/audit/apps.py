"""App config for the audit log."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "gis.audit"
    label = "audit"  # the table and migrations keep their names
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from gis.audit import signals  # noqa: F401  (admin changes, roles and group membership)
