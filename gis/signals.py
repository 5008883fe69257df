"""Registry changes other apps react to (workorders re-links the open requests near them)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import Signal, receiver

from gis.models import Asset, UtilityLine, UtilityStructure
from gis.spatial import queries

# Sent after commit. geoms_wkb: storage-CRS WKB of what changed (old and new places, or an extent);
# asset_ids: assets that moved, changed or went (requests linked to them are re-linked wherever they are).
registry_changed = Signal()

_TRACKED = (Asset, UtilityLine, UtilityStructure)


def _announce(geoms_wkb: list[bytes], asset_ids: list[int]) -> None:
    transaction.on_commit(lambda: registry_changed.send(sender=Asset, geoms_wkb=geoms_wkb, asset_ids=asset_ids))


@receiver(pre_save)
def _remember_old_place(sender, instance, **kwargs):
    if sender in _TRACKED and instance.pk:
        old = sender.objects.filter(pk=instance.pk).values_list("geom", flat=True).first()
        instance._old_geom_wkb = bytes(old.wkb) if old is not None else None


@receiver(post_save)
def _saved(sender, instance, **kwargs):
    if sender in _TRACKED and instance.geom is not None:
        geoms = [bytes(instance.geom.wkb)] + ([instance._old_geom_wkb] if getattr(instance, "_old_geom_wkb", None)
                                              else [])
        _announce(geoms, [instance.pk] if sender is Asset else [])


@receiver(post_delete)
def _deleted(sender, instance, **kwargs):
    if sender in _TRACKED and instance.geom is not None:
        _announce([bytes(instance.geom.wkb)], [instance.pk] if sender is Asset else [])


def import_finished(*, table: str, started_at) -> None:
    """An import changed ``table`` from ``started_at`` on: announce its changed rows' extent."""
    ids, extent = queries.changed_since(table=table, since=started_at)
    if ids:
        _announce([extent], ids if table == Asset._meta.db_table else [])
