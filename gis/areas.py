"""In-memory point-in-area lookup for districts: an STRtree of prepared polygons per process.

Intake asks "which neighbourhood?" for every report. In PostGIS each ask re-reads and re-prepares a
polygon of thousands of vertices (~1 ms); here a prepared polygon answers in microseconds. The
index is rebuilt when the districts change (checked at most every FIELDSVC_AREAS_RECHECK_S).
"""

import threading
import time

import numpy as np
import shapely
from django.conf import settings
from django.db.models import Count, Max

from gis.models import District


class _Index:
    def __init__(self, kind: str):
        rows = list(District.objects.filter(kind=kind).values_list("pk", "geom"))
        self.ids = np.array([pk for pk, _ in rows], dtype=np.int64)
        self.polygons = shapely.from_wkb([bytes(geom.wkb) for _, geom in rows]) if rows else np.array([])
        shapely.prepare(self.polygons)
        self.tree = shapely.STRtree(self.polygons)

    def at(self, x: float, y: float) -> int | None:
        point = shapely.Point(x, y)
        for position in self.tree.query(point, predicate="intersects"):
            return int(self.ids[position])
        return None


_lock = threading.Lock()
_indexes: dict[str, tuple[tuple, _Index]] = {}
_checked_at: dict[str, float] = {}


def _version(kind: str) -> tuple:
    stats = District.objects.filter(kind=kind).aggregate(n=Count("pk"), latest=Max("updated_at"))
    return stats["n"], stats["latest"]


def district_id_at(x: float, y: float, *, kind: str = "neighbourhood") -> int | None:
    """The id of the ``kind`` district holding storage-CRS point (x, y), or None."""
    now = time.monotonic()
    with _lock:
        cached = _indexes.get(kind)
        if cached is None or now - _checked_at.get(kind, 0) > settings.FIELDSVC_AREAS_RECHECK_S:
            version = _version(kind)
            if cached is None or cached[0] != version:
                cached = (version, _Index(kind))
                _indexes[kind] = cached
            _checked_at[kind] = now
    return cached[1].at(x, y)
