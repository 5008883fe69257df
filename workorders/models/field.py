"""What crews' tablets send and fetch: notes, materials, photos and resumable uploads (client UUIDs),
the change feed, idempotency records and the clashing edits kept for a supervisor."""

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.db.models.functions import Now

from workorders.models.crews import Crew
from workorders.models.work import WorkOrder, WorkOrderTask

STORAGE_SRID = settings.FIELDSVC_STORAGE_SRID


class FieldRecord(models.Model):
    """Append-only, made on a device: the id is the device's UUID, so a retried upload is one row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    author_label = models.CharField(max_length=200)
    device_id = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField(help_text="the device's time")
    received_at = models.DateTimeField(db_default=Now())
    position = models.PointField(srid=STORAGE_SRID, null=True, blank=True, spatial_index=False)

    class Meta:
        abstract = True


class WorkOrderNote(FieldRecord):
    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()

    class Meta:
        ordering = ["work_order", "occurred_at", "id"]
        indexes = [models.Index(fields=["work_order", "occurred_at"], name="work_order_note_idx")]


class MaterialUsage(FieldRecord):
    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="materials")
    task = models.ForeignKey(WorkOrderTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    item = models.CharField(max_length=120)
    quantity = models.DecimalField(max_digits=10, decimal_places=3)
    unit = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["work_order", "occurred_at", "id"]
        indexes = [models.Index(fields=["work_order", "occurred_at"], name="material_usage_idx")]


class Upload(models.Model):
    """A resumable upload (tus 1.0): bytes arrive in pieces into MEDIA_ROOT/uploads/<id>; ``offset`` is
    how many are safely stored, so a dropped connection resumes there."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True, help_text="the client's Upload-Metadata, decoded")
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())
    completed_at = models.DateTimeField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="upload_unfinished_idx",
                                condition=Q(completed_at__isnull=True))]


class WorkOrderPhoto(FieldRecord):
    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="photos")
    upload = models.ForeignKey(Upload, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    file = models.FileField(upload_to="work_orders/%Y/%m/", max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, help_text="the same picture sent twice is one photo")
    caption = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["work_order", "occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["work_order", "sha256"], name="work_order_photo_once")]


class SyncChange(models.Model):
    """The change feed: one row per change a crew's tablets must fetch, written by triggers (migration
    0016) on every path (services, admin, WFS). Read in transaction-id order up to the oldest transaction
    still running, so a change committed late is never skipped (workorders/field_feed.py)."""

    seq = models.BigAutoField(primary_key=True)
    crew = models.ForeignKey(Crew, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    entity = models.CharField(max_length=20)
    entity_id = models.BigIntegerField()
    op = models.CharField(max_length=6)  # upsert | delete
    xid = models.BigIntegerField()
    at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["crew", "xid", "seq"], name="sync_change_feed_idx")]


class IdempotencyRecord(models.Model):
    """A write already done under a client's key (Idempotency-Key, or a queued edit's id): a retry gets
    the stored answer instead of doing it again; the same key with other content is refused."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of what was asked")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_expiry_idx")]


class ConflictStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class WorkOrderConflict(models.Model):
    """Two edits of one field made apart: the value kept (theirs) and the one that arrived later (yours),
    both kept until a supervisor settles it."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="conflicts")
    field = models.CharField(max_length=80)
    base_version = models.PositiveIntegerField(help_text="the version the late edit was made on")
    theirs = models.JSONField(null=True, help_text="the value in place when it arrived")
    theirs_version = models.PositiveIntegerField(help_text="the version that set it")
    yours = models.JSONField(null=True, help_text="the value that arrived and was not applied")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    author_label = models.CharField(max_length=200)
    device_id = models.CharField(max_length=100, blank=True)
    mutation_id = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(help_text="when the late edit was made on the device")
    received_at = models.DateTimeField(db_default=Now())
    status = models.CharField(max_length=8, choices=ConflictStatus.choices, default=ConflictStatus.OPEN)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    chosen = models.JSONField(null=True, blank=True, help_text="the value the supervisor kept")
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["work_order", "received_at", "id"]
        indexes = [models.Index(fields=["work_order"], name="work_order_conflict_open_idx",
                                condition=Q(status="open"))]

    def __str__(self) -> str:
        return f"WO-{self.work_order_id} {self.field}: {self.theirs!r} / {self.yours!r}"
