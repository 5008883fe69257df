"""What changes which layer: registry changes, and saved or deleted work orders and neighbourhoods,
invalidate the cached tiles they touch (a Celery task after commit)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from fieldsvc.celery import enqueue
from fieldsvc.coalesce import Coalescer
from gis.models import District
from gis.signals import registry_changed
from workorders.models import WorkOrder

REGISTRY_LAYERS = ["assets", "utility_lines", "utility_structures"]
_MODEL_LAYERS = {WorkOrder: ("work_orders", "location"), District: ("neighbourhoods", "geom")}


def _send(layers: list[str], geoms_wkb: list[bytes]) -> None:
    if geoms_wkb:
        enqueue("tiles.tasks.tiles_invalidate_task", layers=layers, wkb_hex=[g.hex() for g in geoms_wkb])


def _send_held(items: list[tuple[str, bytes]]) -> None:
    by_layer: dict[str, list[bytes]] = {}
    for layer, wkb in items:
        by_layer.setdefault(layer, []).append(wkb)
    for layer, geoms in by_layer.items():
        _send([layer], geoms)


# Work orders change in bursts (generation, automatic dispatch): one task per layer per half second.
_held = Coalescer(_send_held, window_s=0.5)


def registry_changed_received(sender, *, geoms_wkb: list[bytes], **kwargs) -> None:
    _send(REGISTRY_LAYERS, geoms_wkb)  # already after commit


def saved_or_deleted(sender, instance, **kwargs) -> None:
    layer, field = _MODEL_LAYERS[sender]
    geom = getattr(instance, field)
    if geom is not None:
        item = (layer, bytes(geom.wkb))
        transaction.on_commit(lambda: _held.add(item))


def connect() -> None:
    registry_changed.connect(registry_changed_received, dispatch_uid="tiles-registry")
    for model in _MODEL_LAYERS:
        post_save.connect(saved_or_deleted, sender=model, dispatch_uid=f"tiles-save-{model.__name__}")
        post_delete.connect(saved_or_deleted, sender=model, dispatch_uid=f"tiles-delete-{model.__name__}")
