"""Field crews: who they are, what they can do, when and where they work, and where they are now."""

import datetime as dt

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q

from gis.models import Department, Timestamped

STORAGE_SRID = settings.FIELDSVC_STORAGE_SRID


def weekdays() -> list[int]:
    return [1, 2, 3, 4, 5]


class Crew(Timestamped):
    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="crews")
    skills = ArrayField(models.SlugField(max_length=60), default=list, blank=True,
                        help_text="certifications: confined-space, arborist, bucket-truck …")
    equipment = ArrayField(models.SlugField(max_length=60), default=list, blank=True)
    shift_start = models.TimeField(default=dt.time(7, 0))
    shift_end = models.TimeField(default=dt.time(15, 30))
    shift_days = ArrayField(models.PositiveSmallIntegerField(), default=weekdays, help_text="ISO weekdays")
    depot = models.PointField(srid=STORAGE_SRID, null=True, blank=True)
    service_area = models.MultiPolygonField(srid=STORAGE_SRID, null=True, blank=True,
                                            help_text="where it works; blank: anywhere")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="crews")
    max_open_work_orders = models.PositiveSmallIntegerField(default=8, help_text="assigned and not yet done")
    active = models.BooleanField(default=True)
    # The last ping, kept on the crew for "who is near" (GiST-indexed); the track is CrewPosition.
    last_position = models.PointField(srid=STORAGE_SRID, null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["department"], name="crew_department_idx", condition=Q(active=True))]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if self.last_position is None and self.depot is not None:
            self.last_position = self.depot  # until its first ping, a crew is at its depot
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "last_position"}
        super().save(*args, **kwargs)


class CrewPosition(models.Model):
    """One position ping of a crew's device: the track."""

    crew = models.ForeignKey(Crew, on_delete=models.CASCADE, related_name="positions")
    at = models.DateTimeField()
    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False)
    accuracy_m = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["crew", "at"]
        indexes = [models.Index(fields=["crew", "-at"], name="crew_position_track_idx")]
