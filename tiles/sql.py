"""The only MVT SQL: one statement per layer and tile, built from the layer registry (tiles/layers.py).

The tile's envelope is taken into the storage CRS for the filter, so the GiST index on the stored
geometry is used; only the rows found are transformed to Web Mercator for ST_AsMVTGeom. Below a
layer's cluster zoom, points are counted per grid cell (64 cells across the tile) instead.
"""

from django.db import connection

from gis import crs
from tiles.layers import Layer

EXTENT, BUFFER, CLUSTER_CELLS = 4096, 64, 64


def _features_sql(layer: Layer) -> str:
    props = ", ".join(f"{expr} AS {name}" for name, expr in layer.properties.items())
    return (f"SELECT {props}, ST_AsMVTGeom(ST_Transform(t.{layer.geom}, 3857), b.env, {EXTENT}, {BUFFER}, true) "
            f"AS mvtgeom FROM {layer.table} t {layer.joins}, bounds b "
            f"WHERE t.{layer.geom} && b.env_storage AND {layer.where}")


def _clusters_sql(layer: Layer) -> str:
    # Grid cells of the tile in Web Mercator; each cell's features counted at their mean position.
    return (f"SELECT count(*) AS count, ST_AsMVTGeom(ST_Centroid(ST_Collect(ST_Transform(t.{layer.geom}, 3857))), "
            f"b.env, {EXTENT}, {BUFFER}, true) AS mvtgeom FROM {layer.table} t {layer.joins}, bounds b "
            f"WHERE t.{layer.geom} && b.env_storage AND {layer.where} "
            f"GROUP BY ST_SnapToGrid(ST_Transform(t.{layer.geom}, 3857), b.cell, b.cell), b.env")


def tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    """The layer's MVT for z/x/y (empty bytes when nothing is there). z, x, y are checked integers."""
    clustered = layer.cluster_below is not None and z < layer.cluster_below
    body = _clusters_sql(layer) if clustered else _features_sql(layer)
    # The envelope clipped to the storage CRS's area, densified so its edges stay straight enough when
    # taken into the storage CRS; the filter then uses the GiST index on the stored geometry.
    area = "ST_MakeEnvelope(%s, %s, %s, %s, 3857)"
    sql = (f"WITH tile AS (SELECT ST_TileEnvelope(%s, %s, %s) AS env), "
           f"bounds AS (SELECT tile.env, ST_Transform(ST_Segmentize(ST_Intersection(tile.env, {area}), "
           f"(ST_XMax(tile.env) - ST_XMin(tile.env)) / 16), {crs.storage_srid()}) AS env_storage, "
           f"(ST_XMax(tile.env) - ST_XMin(tile.env)) / {CLUSTER_CELLS} AS cell FROM tile "
           f"WHERE ST_Intersects(tile.env, {area})), "
           f"q AS ({body}) SELECT ST_AsMVT(q, %s, {EXTENT}, 'mvtgeom') FROM q WHERE mvtgeom IS NOT NULL")
    box = list(crs.storage_area_web_mercator())
    with connection.cursor() as cursor:
        cursor.execute(sql, [z, x, y, *box, *box, layer.name])
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
