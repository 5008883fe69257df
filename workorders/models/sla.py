"""Service levels: work calendars with holidays, SLA policies per service and priority, escalations."""

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q

from gis.models import Department


def standard_week() -> dict:
    """Monday to Friday, 07:00-15:30: a city crew's day."""
    return {str(day): [["07:00", "15:30"]] for day in range(1, 6)}


class WorkCalendar(models.Model):
    """When a department works: hours per ISO weekday ("1" Monday … "7" Sunday) and holidays.
    Business-hours SLAs count only these; the calendar without a department is everyone else's."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    department = models.OneToOneField(Department, on_delete=models.CASCADE, null=True, blank=True,
                                      related_name="work_calendar")
    time_zone = models.CharField(max_length=64, default=settings.TIME_ZONE)
    week = models.JSONField(default=standard_week, help_text='{"1": [["07:00", "15:30"]], …}: working spans')

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["department"], name="work_calendar_default_uniq",
                                               condition=Q(department__isnull=True), nulls_distinct=False)]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from workorders.sla import WeekInvalid, week_parse

        try:
            week_parse(self.week)
        except WeekInvalid as exc:
            raise ValidationError({"week": str(exc)}) from exc


class Holiday(models.Model):
    calendar = models.ForeignKey(WorkCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_calendar_date_uniq")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaClock(models.TextChoices):
    CALENDAR = "calendar", "Calendar hours (around the clock)"
    BUSINESS = "business", "Business hours (the department's calendar)"


class SlaPolicy(models.Model):
    """How long a work order may take: per service and priority (a blank priority: any). The most
    specific policy applies; without one the service's own sla_hours count in calendar hours."""

    service = models.ForeignKey("workorders.Service", on_delete=models.CASCADE, related_name="sla_policies")
    priority = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 urgent … 4 low; blank: any")
    hours = models.FloatField(help_text="target from report to completion")
    clock = models.CharField(max_length=8, choices=SlaClock.choices, default=SlaClock.CALENDAR)
    warning_fraction = models.FloatField(default=0.75, help_text="warn when this share of the time is used")

    class Meta:
        ordering = ["service", "priority"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["service", "priority"], name="sla_policy_uniq", nulls_distinct=False),
            models.CheckConstraint(condition=Q(hours__gt=0), name="sla_policy_hours_positive"),
            models.CheckConstraint(condition=Q(warning_fraction__gt=0, warning_fraction__lt=1),
                                   name="sla_policy_warning_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.service} P{self.priority or '*'}: {self.hours:g} {self.clock} h"


class EscalationLevel(models.TextChoices):
    WARNING = "warning", "Warning"
    BREACH = "breach", "Breach"


class SlaEscalation(models.Model):
    """A level reached by a work order's SLA clock: recorded once (the unique constraint makes the
    sweeper's re-runs no-ops)."""

    work_order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE, related_name="escalations")
    level = models.CharField(max_length=8, choices=EscalationLevel.choices)
    due_at = models.DateTimeField(help_text="the time that was passed")
    at = models.DateTimeField(help_text="when the sweeper saw it")
    notified_at = models.DateTimeField(null=True, blank=True, help_text="when the department was told")
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="when a worker last began telling it")

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["work_order", "level"], name="sla_escalation_once")]

    def __str__(self) -> str:
        return f"{self.work_order_id} {self.level}"
