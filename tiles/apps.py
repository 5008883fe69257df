"""App config for vector tiles (filled by a later issue)."""

from django.apps import AppConfig


class TilesConfig(AppConfig):
    name = "tiles"
    verbose_name = "Vector tiles"
