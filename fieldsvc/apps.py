"""App config for project wiring (templates, management commands)."""

from django.apps import AppConfig


class FieldsvcConfig(AppConfig):
    name = "fieldsvc"
    verbose_name = "fieldsvc"
