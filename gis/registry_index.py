"""The registry in memory for batch linking: shapely STRtrees of assets (per type) and utilities.

Built once per batch from one read of PostGIS, then every report of the batch is answered by vectorised
tree queries instead of a KNN round trip each (docs/architecture.md, "In-memory indexes", has the
numbers). It is a snapshot: a batch links against the registry as it was read; changes made meanwhile
re-link their neighbours through the usual registry-change path.
"""

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import shapely

from gis.matching import UtilityHit
from gis.spatial import linking as sql


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (reference counting still frees everything)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class RegistryIndex:
    def __init__(self, *, type_ids: Iterable[int], utility_radius_m: float):
        # Loading allocates millions of acyclic row tuples; with the cyclic collector on, its passes over
        # the growing heap took a third of the load.
        with gc_paused():
            self._load(sorted(set(type_ids)), utility_radius_m)

    def _load(self, type_ids: list[int], utility_radius_m: float) -> None:
        self.type_ids = frozenset(type_ids)
        rows = sql.assets_wkb(type_ids=type_ids) if type_ids else []
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        types = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        geoms = shapely.from_wkb([r[2] for r in rows]) if rows else np.array([], dtype=object)
        self._assets: dict[int, tuple[np.ndarray, np.ndarray, shapely.STRtree, np.ndarray | None]] = {}
        for type_id in type_ids:
            mask = types == type_id
            of_type = geoms[mask]
            # Point layers also as an (n, 2) coordinate array: distances from it need no geometry
            # objects, whose reference counts a forked linking process would otherwise copy page by page.
            points_only = len(of_type) and bool((shapely.get_type_id(of_type) == 0).all())
            xy = shapely.get_coordinates(of_type) if points_only else None
            self._assets[type_id] = (ids[mask], of_type, shapely.STRtree(of_type), xy)
        self.utility_radius_m = utility_radius_m
        lines, structures = sql.utilities_wkb()
        self._utilities = [("line", lines), ("structure", structures)]
        self._utility_geoms = [shapely.from_wkb([r[8] for r in rows]) if rows else np.array([], dtype=object)
                               for _, rows in self._utilities]
        self._utility_trees = [shapely.STRtree(g) for g in self._utility_geoms]

    def asset_candidates(self, points: np.ndarray, *, type_ids: Iterable[int],
                         radius_m: float) -> list[list[tuple[int, int, float]]]:
        """Per point, (asset id, asset type id, distance) of every asset of these types within
        ``radius_m`` (the matching policy picks; ties need them all)."""
        found: list[list[tuple[int, int, float]]] = [[] for _ in range(len(points))]
        if radius_m <= 0 or not len(points):
            return found
        points_xy = None
        for type_id in type_ids:
            ids, geoms, tree, xy = self._assets.get(type_id, (None, None, None, None))
            if ids is None or not len(ids):
                continue
            pairs = tree.query(points, predicate="dwithin", distance=radius_m)
            if not pairs.shape[1]:
                continue
            if xy is not None:  # as PostGIS computes a point-to-point distance: sqrt(dx^2 + dy^2)
                points_xy = shapely.get_coordinates(points) if points_xy is None else points_xy
                delta = points_xy[pairs[0]] - xy[pairs[1]]
                distances = np.sqrt(delta[:, 0] * delta[:, 0] + delta[:, 1] * delta[:, 1])
            else:
                distances = shapely.distance(points[pairs[0]], geoms[pairs[1]])
            for report, asset, distance in zip(pairs[0].tolist(), ids[pairs[1]].tolist(), distances.tolist(),
                                               strict=True):
                found[report].append((asset, type_id, distance))
        return found

    def utilities(self, points: np.ndarray) -> list[list[UtilityHit]]:
        """Per point, every utility line and structure within ``utility_radius_m``."""
        found: list[list[UtilityHit]] = [[] for _ in range(len(points))]
        if not len(points):
            return found
        for (feature, rows), geoms, tree in zip(self._utilities, self._utility_geoms, self._utility_trees,
                                                strict=True):
            if not rows:
                continue
            pairs = tree.query(points, predicate="dwithin", distance=self.utility_radius_m)
            if not pairs.shape[1]:
                continue
            near_points, near_geoms = points[pairs[0]], geoms[pairs[1]]
            distances = shapely.distance(near_points, near_geoms).tolist()
            if feature == "line":
                along = shapely.line_locate_point(near_geoms, near_points).tolist()
                lengths = shapely.length(near_geoms).tolist()
            for n, (report, index) in enumerate(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)):
                pk, kind, type_, external_id, depth_m, material, diameter_mm, install_year, _ = rows[index]
                along_m = along[n] if feature == "line" else None
                found[report].append(UtilityHit(
                    feature=feature, id=pk, kind=kind, type=type_, external_id=external_id,
                    distance_m=distances[n], depth_m=depth_m, material=material or "", diameter_mm=diameter_mm,
                    install_year=install_year, along_m=along_m,
                    fraction=(along_m / lengths[n] if lengths[n] else 0.0) if feature == "line" else None,
                ))
        return found

