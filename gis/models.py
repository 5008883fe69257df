"""The spatial registry: departments, asset types, assets, the utility network, districts, imports, edits."""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.db.models.functions import Now

from gis.spatial import valid_nonempty_geometry

STORAGE_SRID = settings.FIELDSVC_STORAGE_SRID


class Timestamped(models.Model):
    # db_default so that set-based SQL upserts (gis/importing) get them too.
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        abstract = True


class Department(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GeometryKind(models.TextChoices):
    POINT = "point", "Point"
    LINE = "line", "Line"
    POLYGON = "polygon", "Polygon"


class AssetType(models.Model):
    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    geometry_kind = models.CharField(max_length=10, choices=GeometryKind.choices)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="asset_types")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LifecycleStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    ABANDONED = "abandoned", "Abandoned in place"
    REMOVED = "removed", "Removed"


class Asset(Timestamped):
    # No index of its own: the unique (asset_type, external_id) key leads with it and serves its lookups.
    asset_type = models.ForeignKey(AssetType, on_delete=models.PROTECT, related_name="assets", db_index=False)
    external_id = models.CharField(max_length=120, help_text="Stable id in the source system.")
    geom = models.GeometryField(srid=STORAGE_SRID)
    status = models.CharField(
        max_length=12, choices=LifecycleStatus.choices, default=LifecycleStatus.ACTIVE
    )
    condition = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Condition index, 0 (failed) to 100 (new)."
    )
    install_date = models.DateField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset_type", "external_id"], name="asset_type_external_id_uniq"),
            models.CheckConstraint(condition=valid_nonempty_geometry("geom"), name="asset_geom_valid"),
            models.CheckConstraint(condition=Q(condition__lte=100), name="asset_condition_0_100"),
        ]
        indexes = [models.Index(fields=["status"], name="asset_status_idx")]

    def __str__(self) -> str:
        return f"{self.asset_type_id}:{self.external_id}"


class NetworkKind(models.TextChoices):
    WATER = "water", "Water"
    SEWER = "sewer", "Sanitary sewer"
    STORM = "storm", "Storm drain"
    GAS = "gas", "Gas"
    ELECTRIC = "electric", "Electric"
    TELECOM = "telecom", "Telecom"


class UtilityLine(Timestamped):
    """An underground segment: a main, lateral, service or culvert between two structures."""

    kind = models.CharField(max_length=10, choices=NetworkKind.choices)
    line_type = models.CharField(max_length=30, default="main", help_text="main, lateral, culvert…")
    external_id = models.CharField(max_length=120)
    geom = models.LineStringField(srid=STORAGE_SRID)
    material = models.CharField(max_length=60, blank=True)
    diameter_mm = models.PositiveIntegerField(null=True, blank=True)
    depth_m = models.FloatField(null=True, blank=True, help_text="Depth of cover, metres.")
    install_year = models.PositiveSmallIntegerField(null=True, blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="utility_lines"
    )
    owner = models.CharField(max_length=120, blank=True, help_text="Owner when not a department.")
    status = models.CharField(
        max_length=12, choices=LifecycleStatus.choices, default=LifecycleStatus.ACTIVE
    )
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "line_type", "external_id"], name="utility_line_external_id_uniq"),
            models.CheckConstraint(condition=valid_nonempty_geometry("geom"), name="utility_line_geom_valid"),
            models.CheckConstraint(condition=Q(depth_m__gte=0), name="utility_line_depth_m_positive"),
            models.CheckConstraint(
                condition=Q(install_year__gte=1800, install_year__lte=2100), name="utility_line_install_year_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.line_type} {self.external_id}"


class UtilityStructure(Timestamped):
    """A point on the network: manhole, valve, catch basin, inlet, outfall."""

    kind = models.CharField(max_length=10, choices=NetworkKind.choices)
    structure_type = models.CharField(max_length=30, help_text="manhole, valve, catch_basin…")
    external_id = models.CharField(max_length=120)
    geom = models.PointField(srid=STORAGE_SRID)
    depth_m = models.FloatField(null=True, blank=True, help_text="Rim to invert, metres.")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="utility_structures"
    )
    owner = models.CharField(max_length=120, blank=True)
    status = models.CharField(
        max_length=12, choices=LifecycleStatus.choices, default=LifecycleStatus.ACTIVE
    )
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "structure_type", "external_id"], name="utility_structure_external_id_uniq"
            ),
            models.CheckConstraint(condition=valid_nonempty_geometry("geom"), name="utility_structure_geom_valid"),
            models.CheckConstraint(condition=Q(depth_m__gte=0), name="utility_structure_depth_m_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.structure_type} {self.external_id}"


class District(Timestamped):
    """A neighbourhood, ward or other area used for routing and per-capita figures."""

    kind = models.CharField(max_length=30, default="neighbourhood")
    external_id = models.CharField(max_length=120)
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=100, blank=True)
    population = models.PositiveIntegerField(null=True, blank=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "external_id"], name="district_external_id_uniq"),
            models.CheckConstraint(condition=valid_nonempty_geometry("geom"), name="district_geom_valid"),
        ]
        ordering = ["city", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.city})" if self.city else self.name


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """One import of one file with one mapping: what was asked, what happened."""

    source_name = models.CharField(max_length=255)
    source_path = models.CharField(max_length=1024, blank=True)
    fingerprint = models.CharField(max_length=64, db_index=True, help_text="sha256 of file + mapping")
    mapping = models.JSONField()
    target = models.CharField(max_length=30)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    rejects = models.JSONField(default=list, blank=True, help_text="[{row, reason}], capped")
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(db_default=Now())
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]

    def __str__(self) -> str:
        return f"{self.source_name} ({self.status})"


class EditAction(models.TextChoices):
    INSERT = "insert", "Insert"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"


class EditRecord(models.Model):
    """One feature changed by an editor (WFS-T): who, when, in which transaction, and the values before/after."""

    at = models.DateTimeField(db_default=Now())
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150, help_text="kept when the account is deleted")
    via = models.CharField(max_length=20, default="wfs-t")
    transaction_id = models.UUIDField(help_text="the edits of one transaction share it")
    handle = models.CharField(max_length=200, blank=True, help_text="the client's handle for the action")
    action = models.CharField(max_length=6, choices=EditAction.choices)
    feature_type = models.CharField(max_length=100)
    object_id = models.BigIntegerField()
    before = models.JSONField(null=True, blank=True, help_text="values and geometry (EWKT) before the change")
    after = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["feature_type", "object_id"], name="edit_record_feature_idx"),
            models.Index(fields=["-at"], name="edit_record_at_idx"),
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.feature_type}.{self.object_id} by {self.username}"
