"""Geometries for open-data downloads: simplified in the storage CRS, then sent as WGS84 GeoJSON text."""

from django.db.models import F, Func, TextField

from gis import crs


def geojson_wgs84(field: str, *, simplify_m: float = 5.0, decimals: int = 6) -> Func:
    """ORM expression: ``field`` as RFC 7946 GeoJSON text (lon/lat). Simplified first in metres (the storage
    CRS), keeping polygons valid (ST_SimplifyPreserveTopology), so a 5,000-vertex neighbourhood is a few hundred;
    6 decimals of a degree are ~0.1 m, finer than the simplification."""
    simplified = Func(F(field), simplify_m, function="ST_SimplifyPreserveTopology")
    return Func(Func(simplified, crs.WGS84, function="ST_Transform"), decimals, function="ST_AsGeoJSON",
                output_field=TextField())
