"""The server-side tile cache (the shared Redis cache) and its precise invalidation.

A tile is cached under its layer, address and the database's name. A change to the data removes the
cached tiles that touch it: for each changed geometry and each zoom of the layer, the tiles its box
covers (widened by the tile buffer, since a feature draws into its neighbours' buffers). A change too
big to list (an import over the whole city) moves the layer to a new generation instead, which
retires every tile of it at once.
"""

import math
from collections.abc import Callable, Iterable

import numpy as np
import shapely
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from gis import crs
from tiles.layers import LAYERS

BUFFER_FRACTION = 64 / 4096  # tiles/sql.py: the buffer around a tile, as a share of its width
MAX_KEYS = 20_000  # more tiles than this for one change: a new generation instead


def _generation(layer: str) -> int:
    return cache.get(f"tilegen:{connection.settings_dict['NAME']}:{layer}", 0)


def _key(layer: str, z: int, x: int, y: int, generation: int) -> str:
    return f"tile:{connection.settings_dict['NAME']}:{layer}:{generation}:{z}/{x}/{y}"


def fetch(layer: str, z: int, x: int, y: int, build: Callable[[], bytes]) -> bytes:
    """The cached tile, or ``build()``'s, kept for FIELDSVC_TILE_CACHE_S (invalidation keeps it true)."""
    key = _key(layer, z, x, y, _generation(layer))
    data = cache.get(key)
    if data is None:
        data = build()
        cache.set(key, data, timeout=settings.FIELDSVC_TILE_CACHE_S)
    return data


def _tile_range(west: float, south: float, east: float, north: float, z: int) -> tuple[int, int, int, int]:
    n = 2 ** z

    def tx(lon: float) -> float:
        return (lon + 180) / 360 * n

    def ty(lat: float) -> float:
        lat = max(min(lat, 85.0511), -85.0511)
        return (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n

    pad = BUFFER_FRACTION
    x0, x1 = int(max(0.0, tx(west) - pad)), int(min(n - 1e-9, tx(east) + pad))
    y0, y1 = int(max(0.0, ty(north) - pad)), int(min(n - 1e-9, ty(south) + pad))
    return x0, x1, y0, y1


def invalidate(layers: Iterable[str], geoms_wkb: Iterable[bytes]) -> int:
    """Drop the cached tiles of ``layers`` that the storage-CRS geometries touch; returns how many keys
    were dropped (a layer whose change is too large gets a new generation, counted as 0)."""
    boxes = []
    for wkb in geoms_wkb:
        minx, miny, maxx, maxy = shapely.from_wkb(wkb).bounds
        corners = crs.wgs84_points(np.array([[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy]]))
        boxes.append((corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max()))
    dropped = 0
    for name in layers:
        layer = LAYERS.get(name)
        if layer is None or not layer.cached:
            continue
        generation, keys = _generation(name), []
        for box in boxes:
            for z in range(layer.minzoom, layer.maxzoom + 1):
                x0, x1, y0, y1 = _tile_range(*box, z)
                if len(keys) + (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_KEYS:
                    keys = None
                    break
                keys += [_key(name, z, x, y, generation) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
            if keys is None:
                break
        if keys is None:
            cache.set(f"tilegen:{connection.settings_dict['NAME']}:{name}", generation + 1, timeout=None)
        else:
            cache.delete_many(keys)
            dropped += len(keys)
    return dropped
