"""Who does what in which department: dispatchers and supervisors assign, crews work their orders."""

from django.conf import settings
from django.contrib.gis.db import models

from gis.models import Department


class Role(models.TextChoices):
    DISPATCHER = "dispatcher", "Dispatcher"
    SUPERVISOR = "supervisor", "Supervisor"
    VIEWER = "viewer", "Viewer"


class DepartmentRole(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="department_roles")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="staff_roles")
    role = models.CharField(max_length=12, choices=Role.choices)

    class Meta:
        ordering = ["department", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "department", "role"], name="department_role_uniq")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.department}"
