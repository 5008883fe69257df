"""Work orders: the crew's unit of work carrying one or more requests, its tasks (one asset each)
and the record of every status change."""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q

from gis.models import Asset, Department, District, Timestamped
from workorders.models.crews import Crew
from workorders.models.requests import Priority, Service
from workorders.models.sla import SlaClock

STORAGE_SRID = settings.FIELDSVC_STORAGE_SRID


class WorkOrderStatus(models.TextChoices):
    NEW = "new", "New (waiting for triage)"
    TRIAGED = "triaged", "Triaged"
    READY = "ready", "Ready"
    SCHEDULED = "scheduled", "Scheduled"
    DISPATCHED = "dispatched", "Dispatched"
    EN_ROUTE = "en_route", "En route"
    IN_PROGRESS = "in_progress", "In progress"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    CLOSED = "closed", "Closed (verified)"
    CANCELLED = "cancelled", "Cancelled"
    REOPENED = "reopened", "Reopened"


class HoldReason(models.TextChoices):
    WAITING_MATERIAL = "waiting_material", "Waiting for material"
    WAITING_ACCESS = "waiting_access", "Waiting for access"
    OTHER_DEPARTMENT = "other_department", "Waiting for another department"
    WEATHER = "weather", "Weather"
    OTHER = "other", "Other"


class Resolution(models.TextChoices):
    FIXED = "fixed", "Fixed"
    NO_FAULT_FOUND = "no_fault_found", "No fault found"
    NOT_CITY = "not_city", "Not the city's responsibility"


class WorkOrder(Timestamped):
    status = models.CharField(max_length=12, choices=WorkOrderStatus.choices, default=WorkOrderStatus.NEW)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="work_orders")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="work_orders",
                                help_text="of the request it was made for")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    title = models.CharField(max_length=300)
    location = models.PointField(srid=STORAGE_SRID, null=True, blank=True)
    district = models.ForeignKey(District, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="work_orders", help_text="of the first request")
    # Service level: from the SLA policy when created (sla.py); the request's expected_datetime.
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    sla_hours = models.FloatField(null=True, blank=True)
    sla_clock = models.CharField(max_length=8, choices=SlaClock.choices, blank=True)
    crew = models.ForeignKey(Crew, on_delete=models.SET_NULL, null=True, blank=True, related_name="work_orders")
    scheduled_start = models.DateTimeField(null=True, blank=True)
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    hold_reason = models.CharField(max_length=20, choices=HoldReason.choices, blank=True)
    held_from = models.CharField(max_length=12, choices=WorkOrderStatus.choices, blank=True,
                                 help_text="the status it was put on hold from")
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="raised by every change: offline edits send it")
    instructions = models.TextField(blank=True, help_text="the dispatcher's word to the crew")
    site_notes = models.TextField(blank=True, help_text="what the next visitor should know: access, hazards")
    # The version at which each editable field last changed ({"site_notes": 7, "tasks.12.condition": 9}):
    # an offline edit based on an older version merges field by field (workorders/field_edits.py).
    field_versions = models.JSONField(default=dict, blank=True)
    open_conflicts = models.PositiveSmallIntegerField(default=0, help_text="clashing edits a supervisor must settle")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Queues and the SLA sweeper look at open work only.
            models.Index(fields=["department", "status", "due_at"], name="work_order_open_idx",
                         condition=~Q(status__in=["completed", "closed", "cancelled"])),
            models.Index(fields=["crew", "status"], name="work_order_crew_idx", condition=Q(crew__isnull=False)),
            # The SLA sweeper: open work whose warning time has come.
            models.Index(fields=["warn_at"], name="work_order_warn_idx",
                         condition=~Q(status__in=["completed", "closed", "cancelled"])),
            # Attainment over a period: work finished in it.
            models.Index(fields=["actual_end"], name="work_order_finished_idx", condition=Q(actual_end__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"WO-{self.pk} {self.title}"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class AssetCondition(models.TextChoices):
    GOOD = "good", "Good"
    FAIR = "fair", "Fair"
    POOR = "poor", "Poor"
    FAILED = "failed", "Failed"


class WorkOrderTask(models.Model):
    """One piece of the work, on at most one asset (Cartegraph's task)."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="tasks")
    sequence = models.PositiveSmallIntegerField(default=1)
    asset = models.ForeignKey(Asset, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    description = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    estimated_minutes = models.PositiveIntegerField(default=30, help_text="time on site")
    required_skills = ArrayField(models.SlugField(max_length=60), default=list, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    condition = models.CharField(max_length=8, choices=AssetCondition.choices, blank=True,
                                 help_text="the asset's condition as the crew found it")

    class Meta:
        ordering = ["work_order", "sequence", "id"]

    def __str__(self) -> str:
        return f"WO-{self.work_order_id}/{self.sequence} {self.description}"


class WorkOrderEvent(models.Model):
    """A status change (or a note) on a work order: who, when, where from, why."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    from_status = models.CharField(max_length=12, choices=WorkOrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=WorkOrderStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    actor_label = models.CharField(max_length=200, help_text="the user's name, or 'system: …'")
    position = models.PointField(srid=STORAGE_SRID, null=True, blank=True, spatial_index=False,
                                 help_text="the device's position when it was done")
    note = models.TextField(blank=True)
    # Offline devices: ``at`` is the device's time (kept within what the server knows, see field_sync.py),
    # device_at its raw word, received_at when the server got it; client_id makes a replayed upload a no-op.
    device_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    device_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["work_order", "at", "id"]
        indexes = [models.Index(fields=["work_order", "at"], name="work_order_event_idx")]

    def __str__(self) -> str:
        return f"WO-{self.work_order_id} {self.from_status or '∅'} → {self.to_status}"
