"""The only MVT SQL: one statement per layer and tile, built from the layer registry (tiles/layers.py).

The tile's envelope, widened by the tile buffer, is taken into the storage CRS for the filter, so the
GiST index on the stored geometry is used and features just outside the tile still draw into its
buffer; only the rows found are transformed to Web Mercator, once each. Below a layer's cluster zoom,
points are counted per grid cell (64 cells across the tile, aligned across tiles) instead.
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
    # Each point transformed once and its grid cell found by arithmetic: the cells ST_SnapToGrid(geom, cell)
    # gives, without a snapped geometry per row to sort on. Counted at the cells' mean positions. The
    # layer's joins only name things, so a count does without them.
    return (f"SELECT count(*) AS count, ST_AsMVTGeom(ST_MakePoint(avg(p.x), avg(p.y)), b.env, {EXTENT}, {BUFFER}, "
            f"true) AS mvtgeom FROM {layer.table} t CROSS JOIN bounds b "
            f"CROSS JOIN LATERAL (SELECT ST_X(m) AS x, ST_Y(m) AS y FROM ST_Transform(t.{layer.geom}, 3857) AS m) p "
            f"WHERE t.{layer.geom} && b.env_storage AND {layer.where} "
            f"GROUP BY round(p.x / b.cell), round(p.y / b.cell), b.env")


def tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    """The layer's MVT for z/x/y (empty bytes when nothing is there). z, x, y are checked integers."""
    clustered = layer.cluster_below is not None and z < layer.cluster_below
    body = _clusters_sql(layer) if clustered else _features_sql(layer)
    # ST_AsMVT skips rows whose geometry ST_AsMVTGeom clipped away (NULL); a "WHERE mvtgeom IS NOT NULL"
    # here is pushed into the scan and computes every row's geometry twice (1.6x the bare query at z14).
    # The buffered envelope clipped to the storage CRS's area, densified so its edges stay straight enough
    # when taken into the storage CRS; the filter then uses the GiST index on the stored geometry.
    # The address and area are written into the statement (integers and floats only, never text): with them
    # as parameters a prepared statement's generic plan rebuilt the envelope on every row and left the
    # bitmap scan, 2.4x slower (DATABASE_PREPARE_THRESHOLD prepares a statement run five times).
    z, x, y = int(z), int(x), int(y)
    west, south, east, north = (float(v) for v in crs.storage_area_web_mercator())
    area = f"ST_MakeEnvelope({west!r}, {south!r}, {east!r}, {north!r}, 3857)"
    sql = (f"WITH tile AS (SELECT ST_TileEnvelope({z}, {x}, {y}) AS env, "
           f"ST_TileEnvelope({z}, {x}, {y}, margin => {BUFFER / EXTENT}) AS wide), "
           f"bounds AS (SELECT tile.env, ST_Transform(ST_Segmentize(ST_Intersection(tile.wide, {area}), "
           f"(ST_XMax(tile.env) - ST_XMin(tile.env)) / 16), {crs.storage_srid()}) AS env_storage, "
           f"(ST_XMax(tile.env) - ST_XMin(tile.env)) / {CLUSTER_CELLS} AS cell FROM tile "
           f"WHERE ST_Intersects(tile.wide, {area})), "
           f"q AS ({body}) SELECT ST_AsMVT(q, %s, {EXTENT}, 'mvtgeom') FROM q")
    with connection.cursor() as cursor:
        cursor.execute(sql, [layer.name])
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
