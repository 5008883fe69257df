"""App config for the spatial registry."""

from django.apps import AppConfig


class GisConfig(AppConfig):
    name = "gis"
    # "gis" is taken by django.contrib.gis; tables and admin URLs use "registry".
    label = "registry"
    verbose_name = "Spatial registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from gis import signals  # noqa: F401  (registers the registry-change receivers)
        from gis.wfs.output import resolve_output_format_settings

        resolve_output_format_settings()
