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

from tiles.layers import LAYERS
from tiles.sql import (  # noqa: F401  (the grid and the layers counted, named here for callers)
    CELLS,
    CHANGES,
    HALF_WORLD,
    LEVELS,
    MAX_ZOOM,
    cell_m,
    level_for,
    summarised,
    summary_fold_sql,
    summary_recount_sql,
    summary_trigger_ddl,
)


def install(*, using: str = "default") -> list[str]:
    """Create or replace each summarised layer's triggers whose definition changed, and count that layer's
    cells again; returns the layers recounted. Run after every migrate (tiles/apps.py)."""
    recounted = []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for layer in filter(summarised, LAYERS.values()):
            ddl = summary_trigger_ddl(layer)
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
            cursor.execute(summary_recount_sql(layer))
            recounted.append(layer.name)
    return recounted


def fold(*, using: str = "default") -> int:
    """Move the appended changes into the cells (one transaction: a reader sees them in one place or the
    other); returns how many change rows were folded."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(summary_fold_sql())
        folded = cursor.fetchone()[0]
        cursor.execute(f"DELETE FROM {CELLS} WHERE n <= 0")
    return int(folded)
