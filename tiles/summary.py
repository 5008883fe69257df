"""Cell counts of the clustered layers, kept by PostgreSQL triggers, so a tile at z <= 12 costs the same
over 8,000 open requests as over 800,000 (bench/tiles_bench.py; counted from every point, a z10 tile took
2 s at 800,000).

Every statement that inserts, updates or deletes rows of a layer's table appends, per cell it touches,
the change in count and position sums to ``tiles_clusterchange`` (a statement trigger reading the
transition tables: one row per cell and statement, and rows only ever appended, so intake never waits
on another writer; about 55 us per single-row insert). ``fold`` moves those rows into
``tiles_clustercell`` each minute; tiles read both. The triggers are made from the layer registry after
every ``migrate`` (their definition is kept as the function's comment; a changed one is replaced and the
layer's cells counted again).
"""

import hashlib

from django.db import connections, transaction

from tiles.layers import LAYERS, Layer
from tiles.models import ClusterCell, ClusterChange

LEVELS = (18, 16)  # cells are z18 tiles (153 m) and z16 tiles (611 m)
MAX_ZOOM = LEVELS[0] - 6  # a tile's 64 x 64 grid at z <= 12 is made of whole z18 cells
HALF_WORLD = 20037508.342789244  # Web Mercator's half width, metres
CELLS, CHANGES = ClusterCell._meta.db_table, ClusterChange._meta.db_table


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


def _points(layer: Layer, rows: str, sign: int) -> str:
    """The layer's points among ``rows`` (a transition table or the table itself), each with ``sign`` and
    its distance in metres from Web Mercator's north-west corner."""
    return (f"SELECT {sign} AS sign, ST_X(m) + {HALF_WORLD} AS wx, {HALF_WORLD} - ST_Y(m) AS wy "
            f"FROM {rows} t CROSS JOIN LATERAL ST_Transform(t.{layer.geom}, 3857) AS m "
            f"WHERE t.{layer.geom} IS NOT NULL AND {layer.where}")


def _cells(layer: Layer, parts: list[str], having: str) -> str:
    """Per cell of each level, the count and the sums of offsets from the cell's corner, of the points."""
    grouped = []
    for level in LEVELS:
        c = cell_m(level)
        ox, oy = f"wx - floor(wx / {c}) * {c}", f"wy - floor(wy / {c}) * {c}"
        grouped.append(f"SELECT '{layer.name}', {level}, floor(wx / {c})::int, floor(wy / {c})::int, sum(sign), "
                       f"sum(sign * ({ox})), sum(sign * ({oy})) FROM p GROUP BY 3, 4 "
                       + having.format(ox=ox, oy=oy))
    return f"WITH p AS ({' UNION ALL '.join(parts)}) " + " UNION ALL ".join(grouped)


def _ddl(layer: Layer) -> list[str]:
    name, table = f"tiles_summary_{layer.name}", layer.table
    insert = f"INSERT INTO {CHANGES} (layer, zoom, cx, cy, n, sx, sy) "
    # An update that moves nothing adds and takes away the same row: its cells net to nothing and are skipped.
    moved = "HAVING sum(sign) <> 0 OR sum(sign * ({ox})) <> 0 OR sum(sign * ({oy})) <> 0"
    body = (f"IF TG_OP = 'INSERT' THEN {insert}{_cells(layer, [_points(layer, 'new_rows', 1)], '')}; "
            f"ELSIF TG_OP = 'DELETE' THEN {insert}{_cells(layer, [_points(layer, 'old_rows', -1)], '')}; "
            f"ELSE {insert}{_cells(layer, [_points(layer, 'new_rows', 1), _points(layer, 'old_rows', -1)], moved)}; "
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


def install(*, using: str = "default") -> list[str]:
    """Create or replace each summarised layer's triggers whose definition changed, and count that layer's
    cells again; returns the layers recounted. Run after every migrate (tiles/apps.py)."""
    recounted = []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for layer in filter(summarised, LAYERS.values()):
            ddl = _ddl(layer)
            digest = hashlib.sha256("\n".join(ddl).encode()).hexdigest()
            cursor.execute("SELECT obj_description(to_regprocedure(%s), 'pg_proc')", [f"tiles_summary_{layer.name}()"])
            if cursor.fetchone()[0] == digest:
                continue
            for statement in ddl:
                cursor.execute(statement)
            cursor.execute(f"COMMENT ON FUNCTION tiles_summary_{layer.name}() IS '{digest}'")
            # Writers wait for the recount (SHARE blocks inserts, updates and deletes, not reads), so no change
            # is counted twice or lost between the count and the triggers.
            cursor.execute(f"LOCK TABLE {layer.table} IN SHARE MODE")
            cursor.execute(f"DELETE FROM {CELLS} WHERE layer = %s", [layer.name])
            cursor.execute(f"DELETE FROM {CHANGES} WHERE layer = %s", [layer.name])
            cursor.execute(f"INSERT INTO {CELLS} (layer, zoom, cx, cy, n, sx, sy) "
                           f"{_cells(layer, [_points(layer, layer.table, 1)], '')}")
            recounted.append(layer.name)
    return recounted


def fold(*, using: str = "default") -> int:
    """Move the appended changes into the cells (one transaction: a reader sees them in one place or the
    other); returns how many change rows were folded."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        # Taken in cell order, so two folds at once queue on the same rows instead of deadlocking.
        cursor.execute(
            f"WITH moved AS (DELETE FROM {CHANGES} RETURNING layer, zoom, cx, cy, n, sx, sy), "
            f"summed AS (SELECT layer, zoom, cx, cy, sum(n) AS n, sum(sx) AS sx, sum(sy) AS sy, count(*) AS rows "
            f"FROM moved GROUP BY 1, 2, 3, 4), "
            f"stored AS (INSERT INTO {CELLS} (layer, zoom, cx, cy, n, sx, sy) "
            f"SELECT layer, zoom, cx, cy, n, sx, sy FROM summed ORDER BY 1, 2, 3, 4 "
            f"ON CONFLICT (layer, zoom, cx, cy) DO UPDATE SET n = {CELLS}.n + excluded.n, "
            f"sx = {CELLS}.sx + excluded.sx, sy = {CELLS}.sy + excluded.sy) "
            f"SELECT coalesce(sum(rows), 0) FROM summed")
        folded = cursor.fetchone()[0]
        cursor.execute(f"DELETE FROM {CELLS} WHERE n <= 0")
    return int(folded)
