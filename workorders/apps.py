"""App config for service requests, work orders, crews and dispatch (filled by later issues)."""

from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = "Work orders"
