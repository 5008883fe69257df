"""The server-side tile cache (the shared Redis cache) and its precise invalidation.

A tile is cached under its layer, address and the database's name. A change to the data removes the
cached tiles that touch it: for each changed geometry and each zoom of the layer, the tiles its box
covers (widened by the tile buffer, since a feature draws into its neighbours' buffers). A change too
big to list (an import over the whole city) moves the layer to a new generation instead, which
retires every tile of it at once.
"""

import hashlib
import math
import threading
from collections.abc import Callable, Iterable

import numpy as np
import redis
import shapely
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from fieldsvc import replica
from gis import crs
from tiles.layers import LAYERS

BUFFER_FRACTION = 64 / 4096  # tiles/sql.py: the buffer around a tile, as a share of its width
MAX_KEYS = 20_000  # more tiles than this for one change: a new generation instead


_held = threading.local()
_generations: dict[tuple[str, str], int] = {}  # (database, layer) -> the generation last seen


def _get_many(*keys: str) -> list:
    """cache.get of each key in one round trip (MGET), on a Redis connection each thread keeps: Django's
    Redis backend makes a new redis-py client for every call and takes a connection from the pool, which
    costs three times the round trip itself (45 against 15 us per GET, redis-py 8)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return [backend.get(key) for key in keys]
    pool = backend._cache._get_connection_pool(False)
    if getattr(_held, "pool", None) is not pool:
        _held.connection, _held.pool = pool.get_connection(), pool
    names = [backend.make_key(key) for key in keys]  # our keys: no need to warn about memcached
    for attempt in (1, 2):
        try:
            _held.connection.send_command("MGET", *names)
            found = _held.connection.read_response()
            break
        except redis.ConnectionError:
            _held.connection.disconnect()  # Redis restarted: the next command connects again, once
            if attempt == 2:
                raise
        except BaseException:
            _held.connection.disconnect()  # never leave a reply unread on the connection
            raise
    return [None if value is None else backend._cache._serializer.loads(value) for value in found]


def _generation_key(layer: str, database: str | None = None) -> str:
    return f"tilegen:{database or connection.settings_dict['NAME']}:{layer}"


def _generation(layer: str) -> int:
    return _get_many(_generation_key(layer))[0] or 0


def _changed_key(layer: str, database: str | None = None) -> str:
    return f"tilelsn:{database or connection.settings_dict['NAME']}:{layer}"


def changed_lsn(layer: str) -> int:
    """How far the primary's WAL was when the layer's tiles were last invalidated: a replica that has not
    replayed that far would put the tiles back as they were (tiles/views.py builds those on the primary)."""
    return _get_many(_changed_key(layer))[0] or 0


def _key(layer: str, z: int, x: int, y: int, generation: int, database: str | None = None) -> str:
    return f"tile:{database or connection.settings_dict['NAME']}:{layer}:{generation}:{z}/{x}/{y}"


def etag_of(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


def _lookup(layer: str, z: int, x: int, y: int) -> tuple[str, tuple[bytes, str] | None]:
    """The tile's key in the layer's current generation, and what the cache holds there. One round trip:
    the generation is read with the tile of the generation last seen, which is almost always current."""
    database = connection.settings_dict["NAME"]
    known = _generations.get((database, layer), 0)
    generation, found = _get_many(_generation_key(layer, database), _key(layer, z, x, y, known, database))
    generation = generation or 0
    if generation != known:
        _generations[(database, layer)] = generation
        found = _get_many(_key(layer, z, x, y, generation, database))[0]
    if found is not None and not isinstance(found, tuple):
        found = (found, etag_of(found))  # kept by an earlier version: the tile alone
    return _key(layer, z, x, y, generation, database), found


def cached(layer: str, z: int, x: int, y: int) -> tuple[bytes, str] | None:
    """The cached tile and its ETag, or None when it is not cached (nothing is built)."""
    return _lookup(layer, z, x, y)[1]


def fetch(layer: str, z: int, x: int, y: int, build: Callable[[], bytes]) -> tuple[bytes, str]:
    """The cached tile, or ``build()``'s, with its ETag, kept for FIELDSVC_TILE_CACHE_S (invalidation keeps
    it true). The ETag is kept with the tile: hashing a 100 kB tile costs more than the rest of a cached
    answer (bench/tiles_bench.py)."""
    key, found = _lookup(layer, z, x, y)
    if found is None:
        data = build()
        found = (data, etag_of(data))
        cache.set(key, found, timeout=settings.FIELDSVC_TILE_CACHE_S)
    return found


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
    lsn = replica.primary_lsn()  # the change being invalidated committed before this point
    for name in layers:
        layer = LAYERS.get(name)
        if layer is None or not layer.cached:
            continue
        cache.set(_changed_key(name), lsn, timeout=None)  # before any tile goes: none is rebuilt from older rows
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
            cache.set(_generation_key(name), generation + 1, timeout=None)
        else:
            cache.delete_many(keys)
            dropped += len(keys)
    return dropped
