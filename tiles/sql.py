"""The only tile SQL: one MVT statement per layer and tile, built from the layer registry (tiles/layers.py),
and the cell-count triggers and folding that tiles/summary.py runs.

The tile's envelope, widened by the tile buffer, is taken into the storage CRS for the filter, so the
GiST index on the stored geometry is used and features just outside the tile still draw into its
buffer; only the rows found are transformed to Web Mercator, once each. Below a layer's cluster zoom,
points are counted per grid cell (64 cells across the tile, aligned across tiles) instead; at z <= 12
those counts come from cell counts the database keeps (tiles/summary.py), not from every point.
"""

from django.db import connections, router

from gis import crs
from tiles.layers import Layer
from tiles.models import ClusterCell, ClusterChange

EXTENT, BUFFER, CLUSTER_CELLS = 4096, 64, 64
LEVELS = (18, 16)  # cells are z18 tiles (153 m) and z16 tiles (611 m)
MAX_ZOOM = LEVELS[0] - 6  # a tile's 64 x 64 grid at z <= 12 is made of whole z18 cells
HALF_WORLD = 20037508.342789244  # Web Mercator's half width, metres
CELLS, CHANGES = ClusterCell._meta.db_table, ClusterChange._meta.db_table  # tiles/summary.py keeps them


def cell_m(level: int) -> float:
    return 2 * HALF_WORLD / 2 ** level


def level_for(z: int) -> int:
    """The coarsest cells still finer than the tile's grid: a tile reads at most about 17,000 cells (z11 and
    z9 over a whole city), not every z18 cell of a city for a z8 tile."""
    return min(level for level in LEVELS if level >= z + 6)


def summarised(layer: Layer) -> bool:
    """Layers counted on a grid at some zoom <= MAX_ZOOM (points only: requests, work orders). Their
    ``where`` names the table's own columns only (the triggers see the changed rows, not the joins)."""
    return layer.cluster_below is not None and layer.minzoom <= MAX_ZOOM


def _summary_points(layer: Layer, rows: str, sign: int) -> str:
    """The layer's points among ``rows`` (a transition table or the table itself), each with ``sign`` and
    its distance in metres from Web Mercator's north-west corner."""
    return (f"SELECT {sign} AS sign, ST_X(m) + {HALF_WORLD} AS wx, {HALF_WORLD} - ST_Y(m) AS wy "
            f"FROM {rows} t CROSS JOIN LATERAL ST_Transform(t.{layer.geom}, 3857) AS m "
            f"WHERE t.{layer.geom} IS NOT NULL AND {layer.where}")


def _summary_cells(layer: Layer, parts: list[str], having: str) -> str:
    """Per cell of each level, the count and the sums of offsets from the cell's corner, of the points."""
    grouped = []
    for level in LEVELS:
        c = cell_m(level)
        ox, oy = f"wx - floor(wx / {c}) * {c}", f"wy - floor(wy / {c}) * {c}"
        grouped.append(f"SELECT '{layer.name}', {level}, floor(wx / {c})::int, floor(wy / {c})::int, sum(sign), "
                       f"sum(sign * ({ox})), sum(sign * ({oy})) FROM p GROUP BY 3, 4 "
                       + having.format(ox=ox, oy=oy))
    return f"WITH p AS ({' UNION ALL '.join(parts)}) " + " UNION ALL ".join(grouped)


def summary_trigger_ddl(layer: Layer) -> list[str]:
    """The statement triggers that append each change of the layer's points to its cell counts."""
    name, table = f"tiles_summary_{layer.name}", layer.table
    insert = f"INSERT INTO {CHANGES} (layer, zoom, cx, cy, n, sx, sy) "
    # An update that moves nothing adds and takes away the same row: its cells net to nothing and are skipped.
    moved = "HAVING sum(sign) <> 0 OR sum(sign * ({ox})) <> 0 OR sum(sign * ({oy})) <> 0"
    new, old = _summary_points(layer, "new_rows", 1), _summary_points(layer, "old_rows", -1)
    body = (f"IF TG_OP = 'INSERT' THEN {insert}{_summary_cells(layer, [new], '')}; "
            f"ELSIF TG_OP = 'DELETE' THEN {insert}{_summary_cells(layer, [old], '')}; "
            f"ELSE {insert}{_summary_cells(layer, [new, old], moved)}; "
            f"END IF; RETURN NULL;")
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} END $$",
        f"CREATE OR REPLACE FUNCTION {name}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"DELETE FROM {CELLS} WHERE layer = '{layer.name}'; DELETE FROM {CHANGES} WHERE layer = '{layer.name}'; "
        f"RETURN NULL; END $$",
        f"CREATE OR REPLACE TRIGGER {name}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        f"CREATE OR REPLACE TRIGGER {name}_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        f"CREATE OR REPLACE TRIGGER {name}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        f"CREATE OR REPLACE TRIGGER {name}_truncate AFTER TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_truncate()",
    ]


def summary_recount_sql(layer: Layer) -> str:
    """Count the layer's cells again from every point (after its triggers changed)."""
    return (f"INSERT INTO {CELLS} (layer, zoom, cx, cy, n, sx, sy) "
            f"{_summary_cells(layer, [_summary_points(layer, layer.table, 1)], '')}")


def summary_fold_sql() -> str:
    """Move the appended changes into the cells; answers how many change rows were folded. Taken in cell
    order, so two folds at once queue on the same rows instead of deadlocking."""
    return (f"WITH moved AS (DELETE FROM {CHANGES} RETURNING layer, zoom, cx, cy, n, sx, sy), "
            f"summed AS (SELECT layer, zoom, cx, cy, sum(n) AS n, sum(sx) AS sx, sum(sy) AS sy, count(*) AS rows "
            f"FROM moved GROUP BY 1, 2, 3, 4), "
            f"stored AS (INSERT INTO {CELLS} (layer, zoom, cx, cy, n, sx, sy) "
            f"SELECT layer, zoom, cx, cy, n, sx, sy FROM summed ORDER BY 1, 2, 3, 4 "
            f"ON CONFLICT (layer, zoom, cx, cy) DO UPDATE SET n = {CELLS}.n + excluded.n, "
            f"sx = {CELLS}.sx + excluded.sx, sy = {CELLS}.sy + excluded.sy) "
            f"SELECT coalesce(sum(rows), 0) FROM summed")


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
    level, half = level_for(z), HALF_WORLD
    shift, size_m = level - (z + 6), cell_m(level)
    x0, x1 = (x * CLUSTER_CELLS - 1) << shift, (((x + 1) * CLUSTER_CELLS + 1) << shift) - 1
    y0, y1 = (y * CLUSTER_CELLS - 1) << shift, (((y + 1) * CLUSTER_CELLS + 1) << shift) - 1
    parts = [f"SELECT cx >> {shift} AS gx, cy >> {shift} AS gy, n, n * (cx * {size_m}) + sx AS wx, "
             f"n * (cy * {size_m}) + sy AS wy FROM {table} WHERE layer = '{layer.name}' AND zoom = {level} "
             f"AND cx BETWEEN {x0} AND {x1} AND cy BETWEEN {y0} AND {y1}"  # tiles_cell_uniq, tiles_change_cell_idx
             for table in (CELLS, CHANGES)]
    return (f"SELECT sum(n) AS count, ST_AsMVTGeom(ST_MakePoint(sum(wx) / sum(n) - {half}, {half} - sum(wy) / sum(n)), "
            f"ST_TileEnvelope({z}, {x}, {y}), {EXTENT}, {BUFFER}, true) AS mvtgeom "
            f"FROM ({' UNION ALL '.join(parts)}) c GROUP BY gx, gy HAVING sum(n) > 0")


def tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    """The layer's MVT for z/x/y (empty bytes when nothing is there). z, x, y are checked integers."""
    z, x, y = int(z), int(x), int(y)
    clustered = layer.cluster_below is not None and z < layer.cluster_below
    if clustered and z <= MAX_ZOOM and summarised(layer):
        with connections[router.db_for_read(ClusterCell)].cursor() as cursor:  # the replica, when the view chose it
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
    with connections[router.db_for_read(ClusterCell)].cursor() as cursor:
        cursor.execute(sql, [layer.name])
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
