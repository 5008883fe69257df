"""App config for vector tiles."""

from django.apps import AppConfig


class TilesConfig(AppConfig):
    name = "tiles"
    verbose_name = "Vector tiles"

    def ready(self):
        from tiles import signals

        signals.connect()
