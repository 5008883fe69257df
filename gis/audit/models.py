"""One row per staff action: append-only (nothing in the project updates or deletes a row)."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", db_constraint=False)
    # Kept as text too: the row still says who after the account is deleted; "manage.py" for the command line.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=60, help_text="e.g. work_order.assign, role.grant, admin.change")
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    # The department whose work it was (supervisors read their departments' rows); null: not a department's.
    department_id = models.BigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["department_id", "-at"], name="audit_department_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_id}"
