"""Celery tasks for tiles: thin wrappers around tiles/cache.py and tiles/summary.py."""

from celery import shared_task


@shared_task
def tiles_invalidate_task(*, layers: list[str], wkb_hex: list[str]) -> int:
    from tiles.cache import invalidate

    return invalidate(layers, [bytes.fromhex(h) for h in wkb_hex])


@shared_task
def tiles_summary_fold_task() -> int:
    from tiles.summary import fold

    return fold()
