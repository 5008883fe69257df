"""The only MVT SQL: one statement per layer and tile, built from the layer registry (tiles/layers.py).

The tile's envelope, widened by the tile buffer, is taken into the storage CRS for the filter, so the
GiST index on the stored geometry is used and features just outside the tile still draw into its
buffer; only the rows found are transformed to Web Mercator, once each. Below a layer's cluster zoom,
points are counted per grid cell (64 cells across the tile, aligned across tiles) instead; at z <= 12
those counts come from cell counts the database keeps (tiles/summary.py), not from every point.
"""

from django.db import connection

from gis import crs
from tiles import summary
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


def _summary_sql(layer: Layer, z: int, x: int, y: int) -> str:
    """Counts at z <= 12 from the layer's cell counts (tiles/summary.py): the tile's grid cells and the ring
    of cells in its buffer, each the sum of its small cells (those folded, and the changes not folded yet)."""
    level, half = summary.level_for(z), summary.HALF_WORLD
    shift, cell_m = level - (z + 6), summary.cell_m(level)
    x0, x1 = (x * CLUSTER_CELLS - 1) << shift, (((x + 1) * CLUSTER_CELLS + 1) << shift) - 1
    y0, y1 = (y * CLUSTER_CELLS - 1) << shift, (((y + 1) * CLUSTER_CELLS + 1) << shift) - 1
    parts = [f"SELECT cx >> {shift} AS gx, cy >> {shift} AS gy, n, n * (cx * {cell_m}) + sx AS wx, "
             f"n * (cy * {cell_m}) + sy AS wy FROM {table} WHERE layer = '{layer.name}' AND zoom = {level} "
             f"AND cx BETWEEN {x0} AND {x1} AND cy BETWEEN {y0} AND {y1}"  # tiles_cell_uniq, tiles_change_cell_idx
             for table in (summary.CELLS, summary.CHANGES)]
    return (f"SELECT sum(n) AS count, ST_AsMVTGeom(ST_MakePoint(sum(wx) / sum(n) - {half}, {half} - sum(wy) / sum(n)), "
            f"ST_TileEnvelope({z}, {x}, {y}), {EXTENT}, {BUFFER}, true) AS mvtgeom "
            f"FROM ({' UNION ALL '.join(parts)}) c GROUP BY gx, gy HAVING sum(n) > 0")


def tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    """The layer's MVT for z/x/y (empty bytes when nothing is there). z, x, y are checked integers."""
    z, x, y = int(z), int(x), int(y)
    clustered = layer.cluster_below is not None and z < layer.cluster_below
    if clustered and z <= summary.MAX_ZOOM and summary.summarised(layer):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT ST_AsMVT(q, %s, {EXTENT}, 'mvtgeom') FROM ({_summary_sql(layer, z, x, y)}) q",
                           [layer.name])
            row = cursor.fetchone()
        return bytes(row[0]) if row and row[0] is not None else b""
    body = _clusters_sql(layer) if clustered else _features_sql(layer)
    # ST_AsMVT skips rows whose geometry ST_AsMVTGeom clipped away (NULL); a "WHERE mvtgeom IS NOT NULL"
    # here is pushed into the scan and computes every row's geometry twice (1.6x the bare query at z14).
    # The buffered envelope clipped to the storage CRS's area, densified so its edges stay straight enough
    # when taken into the storage CRS; the filter then uses the GiST index on the stored geometry.
    # The address and area are written into the statement (integers and floats only, never text): with them
    # as parameters a prepared statement's generic plan rebuilt the envelope on every row and left the
    # bitmap scan, 2.4x slower (DATABASE_PREPARE_THRESHOLD prepares a statement run five times).
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
