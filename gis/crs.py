"""The only place that transforms coordinates: storage CRS, WGS84 and cached pyproj transformers.

Axis order: every transformer here is built with ``always_xy=True``, so coordinates are always
(x, y) = (easting, northing) or (longitude, latitude), whatever the CRS's official axis order.
"""

from functools import lru_cache

import numpy as np
import shapely
from django.conf import settings
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

WGS84 = 4326
WEB_MERCATOR = 3857


class UnknownCRSError(ValueError):
    """A source CRS that PROJ cannot understand."""


def storage_srid() -> int:
    return settings.FIELDSVC_STORAGE_SRID


@lru_cache(maxsize=64)
def crs_from_user_input(value: str | int) -> CRS:
    """A pyproj CRS from an EPSG code, 'EPSG:n', WKT (a shapefile's .prj) or PROJJSON."""
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise UnknownCRSError(f"unknown coordinate reference system: {str(value)[:80]!r}") from exc


@lru_cache(maxsize=64)
def _transformer(source: CRS, target: CRS) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def to_storage_array(geoms: np.ndarray, *, source: CRS) -> np.ndarray:
    """Shapely geometries in ``source`` moved to the storage CRS (vectorised; inf where PROJ fails)."""
    target = crs_from_user_input(storage_srid())
    if source == target:
        return geoms
    transformer = _transformer(source, target)

    def _move(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1], errcheck=False)
        return np.column_stack([x, y])

    return shapely.transform(geoms, _move)


def to_storage_xy(xy: np.ndarray, *, source: CRS) -> np.ndarray:
    """An (n, 2) array of coordinates in ``source`` moved to the storage CRS (inf where PROJ fails)."""
    target = crs_from_user_input(storage_srid())
    if source == target:
        return xy
    x, y = _transformer(source, target).transform(xy[:, 0], xy[:, 1], errcheck=False)
    return np.column_stack([x, y])


@lru_cache(maxsize=8)
def storage_valid_bounds() -> tuple[float, float, float, float]:
    """The storage CRS's area of use, as (minx, miny, maxx, maxy) in storage metres.

    A geometry outside it is either mis-projected or in the wrong place (a (0, 0) "null island"
    point, lat/lon swapped), and PROJ's numbers there are not to be trusted.
    """
    target = crs_from_user_input(storage_srid())
    area = target.area_of_use
    if area is None:
        return (-np.inf, -np.inf, np.inf, np.inf)
    transformer = _transformer(crs_from_user_input(WGS84), target)
    return transformer.transform_bounds(area.west, area.south, area.east, area.north, densify_pts=51)


@lru_cache(maxsize=8)
def storage_area_web_mercator() -> tuple[float, float, float, float]:
    """The storage CRS's area of use in Web Mercator metres (EPSG:3857): tiles are clipped to it before
    their envelope is taken into the storage CRS (PROJ's numbers far outside it are not to be trusted)."""
    area = crs_from_user_input(storage_srid()).area_of_use
    west, south, east, north = (area.west, area.south, area.east, area.north) if area else (-180, -85, 180, 85)
    transformer = _transformer(crs_from_user_input(WGS84), crs_from_user_input(3857))
    return transformer.transform_bounds(west, max(south, -85.0), east, min(north, 85.0), densify_pts=21)


@lru_cache(maxsize=8)
def storage_area_lonlat() -> tuple[float, float, float, float]:
    """The storage CRS's area of use as WGS84 (west, south, east, north)."""
    area = crs_from_user_input(storage_srid()).area_of_use
    return (area.west, area.south, area.east, area.north) if area else (-180.0, -85.0, 180.0, 85.0)


def storage_crs_name() -> str:
    return crs_from_user_input(storage_srid()).name


@lru_cache(maxsize=8)
def _from_wgs84(srid: int) -> Transformer:
    # Keyed by the number: hashing a pyproj CRS exports its WKT, ~30 us on every call.
    return _transformer(crs_from_user_input(WGS84), crs_from_user_input(srid))


def storage_point(lon: float, lat: float) -> tuple[float, float]:
    """A WGS84 lon/lat (phones, Open311) in the storage CRS."""
    x, y = _from_wgs84(storage_srid()).transform(lon, lat)
    return float(x), float(y)


def wgs84_points(xy: np.ndarray) -> np.ndarray:
    """Storage-CRS (n, 2) coordinates as WGS84 lon/lat, for output."""
    if not len(xy):
        return xy
    transformer = _transformer(crs_from_user_input(storage_srid()), crs_from_user_input(WGS84))
    lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def wgs84_lonlat_list(points: list) -> list[list[float] | None]:
    """Storage-CRS points (GEOS, or None) as [lon, lat] to 7 decimals (~1 cm), transformed in one go."""
    present = [n for n, p in enumerate(points) if p is not None]
    out: list[list[float] | None] = [None] * len(points)
    if present:
        xy = np.array([[points[n].x, points[n].y] for n in present])
        for n, (lon, lat) in zip(present, wgs84_points(xy).tolist(), strict=True):
            out[n] = [round(lon, 7), round(lat, 7)]
    return out


def in_storage_area(x: float, y: float) -> bool:
    """Inside the storage CRS's area of use, where its coordinates can be trusted."""
    minx, miny, maxx, maxy = storage_valid_bounds()
    return minx <= x <= maxx and miny <= y <= maxy


def lat_first(srid: int) -> bool:
    """The CRS's official axis order starts with northing/latitude (EPSG:4326 does; most projected CRSs don't)."""
    axes = crs_from_user_input(srid).axis_info
    return bool(axes) and axes[0].direction in ("north", "south")


def geometry_to_storage(geom: shapely.Geometry, *, srid: int, authority_order: bool) -> shapely.Geometry:
    """A geometry given in EPSG ``srid`` moved to the storage CRS (inf coordinates where PROJ fails).

    ``authority_order``: the coordinates follow the CRS's official axis order (a WFS 2.0 URN srsName:
    lat/lon for EPSG:4326) rather than x/y (EPSG:n, and everything in WFS 1.0).
    """
    if authority_order and lat_first(srid):
        geom = shapely.transform(geom, lambda coords: coords[:, ::-1])
    return to_storage_array(np.array([geom], dtype=object), source=crs_from_user_input(srid))[0]
