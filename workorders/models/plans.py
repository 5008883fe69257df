"""Day plans: for a department and a date, each crew's stops in order with their times (from the solver)."""

from django.contrib.gis.db import models

from gis.models import Department
from workorders.models.crews import Crew
from workorders.models.work import WorkOrder


class DayPlan(models.Model):
    """One solver run's plan. Versions rise per department and date; the highest is current (a plan
    made from older data loses the race for its version and is not stored)."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="day_plans")
    date = models.DateField()
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200, help_text="why it was made: the morning plan, an urgent job …")
    solver = models.CharField(max_length=60)
    seconds = models.FloatField(help_text="time the solver had")
    travel_s = models.FloatField()
    unplanned = models.JSONField(default=list, help_text="work order ids left for another day")

    class Meta:
        ordering = ["department", "-date", "-version"]
        constraints = [models.UniqueConstraint(fields=["department", "date", "version"], name="day_plan_version")]

    def __str__(self) -> str:
        return f"{self.department.code} {self.date} v{self.version}"


class PlanStop(models.Model):
    plan = models.ForeignKey(DayPlan, on_delete=models.CASCADE, related_name="stops")
    crew = models.ForeignKey(Crew, on_delete=models.CASCADE, related_name="plan_stops")
    sequence = models.PositiveSmallIntegerField()
    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="plan_stops")
    arrive_at = models.DateTimeField()
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()

    class Meta:
        ordering = ["plan", "crew", "sequence"]
        indexes = [models.Index(fields=["work_order"], name="plan_stop_work_order_idx")]
