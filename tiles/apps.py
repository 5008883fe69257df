"""App config for vector tiles."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TilesConfig(AppConfig):
    name = "tiles"
    verbose_name = "Vector tiles"

    def ready(self):
        from tiles import signals

        signals.connect()
        post_migrate.connect(_summaries_install, sender=self, dispatch_uid="tiles-summaries")


def _summaries_install(sender, using: str = "default", **kwargs) -> None:
    """The cell-count triggers follow the layer registry (tiles/summary.py): made again after each migrate."""
    from tiles import summary

    summary.install(using=using)
