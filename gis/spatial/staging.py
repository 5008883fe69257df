"""Set-based import SQL: a staging table per import, geometry mending and the merge into the registry.

Rows are COPYed into a temporary table and mended there with PostGIS's own ST_MakeValid; then
either moved into the registry batch by batch (a fresh namespace: all rows are new) or, once the
whole file is staged, merged with one UPDATE (changed rows) and one INSERT (new rows). Never one
statement per row.
"""

from dataclasses import dataclass

from psycopg import sql

from gis.spatial import bulkload

STAGE = "fieldsvc_import_stage"

SQL_TYPES = {
    "asset_type": "bigint",
    "department": "bigint",
    "int": "bigint",
    "float": "double precision",
    "condition": "smallint",
    "date": "date",
    "year": "smallint",
}


@dataclass
class MergeCounts:
    created: int = 0
    updated: int = 0
    bulk: bool = False  # indexes were rebuilt after loading instead of grown row by row


def stage_create(cursor, *, columns: list[tuple[str, str]]) -> None:
    """A temporary table (dropped at commit) with the registry columns of this import."""
    cols = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(SQL_TYPES.get(ftype, "text")))
            for name, ftype in columns]
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(STAGE)))
    cursor.execute(
        sql.SQL(
            "CREATE TEMP TABLE {} (row_no bigint NOT NULL, external_id text NOT NULL, {}, "
            "geom geometry NOT NULL, attributes jsonb NOT NULL, invalid_reason text) ON COMMIT DROP"
        ).format(sql.Identifier(STAGE), sql.SQL(", ").join(cols))
    )


def stage_copy(cursor, *, column_names: list[str], csv: bytes) -> None:
    """Append rows given as CSV in the order row_no, external_id, *column_names, geom (hex EWKB), attributes."""
    names = sql.SQL(", ").join(
        sql.Identifier(c) for c in ["row_no", "external_id", *column_names, "geom", "attributes"]
    )
    with cursor.copy(
        sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(sql.Identifier(STAGE), names)
    ) as copy:
        copy.write(csv)


def copy_rows(cursor, *, table: str, column_names: list[str], csv: bytes) -> int:
    """COPY rows known to be new and valid straight into a registry table; returns how many."""
    names = sql.SQL(", ").join(sql.Identifier(c) for c in column_names)
    with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(sql.Identifier(table), names)) as copy:
        copy.write(csv)
    return cursor.rowcount


def stage_analyze(cursor, *, key_columns: list[str]) -> None:
    # Autovacuum never sees temporary tables: without this the planner guesses the stage's size and
    # may loop where it should hash. Only the join keys matter (sampling geometries is the slow part).
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in [*key_columns, "external_id"])
    cursor.execute(sql.SQL("ANALYZE {} ({})").format(sql.Identifier(STAGE), columns))


def stage_mend(cursor, *, single_lines: bool) -> list[tuple[int, str]]:
    """Mend invalid geometries with ST_MakeValid; drop and return those it cannot mend.

    ST_MakeValid keeps every vertex, so a bow-tie polygon becomes a MultiPolygon; we keep only the
    parts of the geometry's own dimension (ST_CollectionExtract). A polygon that collapses to lines,
    or a line that is a single repeated point, has nothing left and is rejected with its reason.
    """
    stage = sql.Identifier(STAGE)
    fixed = sql.SQL("ST_CollectionExtract(ST_MakeValid(geom), ST_Dimension(geom) + 1)")
    if single_lines:
        fixed = sql.SQL("ST_LineMerge({})").format(fixed)
    cursor.execute(
        sql.SQL(
            "UPDATE {stage} SET invalid_reason = ST_IsValidReason(geom), geom = {fixed} "
            "WHERE NOT ST_IsValid(geom)"
        ).format(stage=stage, fixed=fixed)
    )
    if cursor.rowcount == 0:
        return []
    unmendable = sql.SQL(
        "ST_IsEmpty(geom) OR NOT ST_IsValid(geom)"
        + (" OR GeometryType(geom) <> 'LINESTRING'" if single_lines else "")
    )
    cursor.execute(
        sql.SQL("DELETE FROM {stage} WHERE invalid_reason IS NOT NULL AND ({cond}) "
                "RETURNING row_no, invalid_reason").format(stage=stage, cond=unmendable)
    )
    return sorted(cursor.fetchall())


def import_lock(cursor, *, table: str) -> None:
    """Imports into one table run one at a time (until commit), so what is "new" cannot change under one."""
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"fieldsvc.import.{table}"])


def namespace_is_empty(cursor, *, table: str, key: dict[str, object]) -> bool:
    """No row of ``table`` has these natural-key values (say asset_type_id = 7): every import row is new."""
    where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in key)
    cursor.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {} WHERE {})").format(sql.Identifier(table), where),
                   list(key.values()))
    return cursor.fetchone()[0]


def bulk_wanted(cursor, *, table: str, new_rows: int, min_rows: int) -> bool:
    """Rebuilding indexes pays when the new rows are many, and many against what the table holds."""
    return new_rows >= min_rows and bulkload.rows_at_most(cursor, table=table, limit=2 * new_rows + 1) <= 2 * new_rows


def _insert_columns(key_columns: list[str], value_columns: list[str]) -> list[str]:
    return [*key_columns, "external_id", *value_columns, "attributes"]


def _insert_sql(table: str, columns: list[str], multi_polygon: bool, where: sql.Composable) -> sql.Composed:
    return sql.SQL("INSERT INTO {target} ({columns}, geom) SELECT {values}, {geom} FROM {stage} AS s {where}").format(
        target=sql.Identifier(table),
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        values=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in columns),
        geom=sql.SQL("ST_Multi(s.geom)") if multi_polygon else sql.SQL("s.geom"),
        stage=sql.Identifier(STAGE),
        where=where,
    )


def stage_insert_all(
    cursor, *, table: str, key_columns: list[str], value_columns: list[str], multi_polygon: bool
) -> int:
    """Move every staged row into ``table`` as a new row and empty the stage; the caller knows none exists."""
    cursor.execute(_insert_sql(table, _insert_columns(key_columns, value_columns), multi_polygon, sql.SQL("")))
    inserted = cursor.rowcount
    cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(STAGE)))
    return inserted


def stage_merge(
    cursor, *, table: str, key_columns: list[str], value_columns: list[str], multi_polygon: bool,
    bulk_min_rows: int,
) -> MergeCounts:
    """Update changed rows, insert new ones, leave identical ones alone; count each kind.

    Call under import_lock(). A load that is big against the table runs in bulk mode (gis.spatial.bulkload).
    """
    target = sql.Identifier(table)
    stage = sql.Identifier(STAGE)
    geom = sql.SQL("ST_Multi(s.geom)") if multi_polygon else sql.SQL("s.geom")
    key = sql.SQL(" AND ").join(
        sql.SQL("t.{c} = s.{c}").format(c=sql.Identifier(c)) for c in [*key_columns, "external_id"]
    )
    new_only = sql.SQL("WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {key})").format(target=target, key=key)
    cursor.execute(sql.SQL("SELECT count(*) FROM {stage} AS s {new_only}").format(stage=stage, new_only=new_only))
    new = cursor.fetchone()[0]
    bulk = bulk_wanted(cursor, table=table, new_rows=new, min_rows=bulk_min_rows)
    if bulk:  # take the strongest lock first: upgrading it after the UPDATE could deadlock
        bulkload.lock_exclusive(cursor, table=table)

    changed = [*value_columns, "attributes"]
    cursor.execute(
        sql.SQL(
            "UPDATE {target} AS t SET {assignments}, geom = {geom}, updated_at = statement_timestamp() "
            "FROM {stage} AS s WHERE {key} AND ({old}) IS DISTINCT FROM ({new})"
        ).format(
            target=target, stage=stage, key=key, geom=geom,
            assignments=sql.SQL(", ").join(sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c)) for c in changed),
            old=sql.SQL(", ").join([*(sql.SQL("t.{}").format(sql.Identifier(c)) for c in changed), sql.SQL("t.geom")]),
            new=sql.SQL(", ").join([*(sql.SQL("s.{}").format(sql.Identifier(c)) for c in changed), geom]),
        )
    )
    updated = cursor.rowcount
    insert = _insert_sql(table, _insert_columns(key_columns, value_columns), multi_polygon, new_only)
    created = 0
    if bulk:
        with bulkload.indexes_suspended(cursor, table=table):
            cursor.execute(insert)
            created = cursor.rowcount
    elif new:
        cursor.execute(insert)
        created = cursor.rowcount
    return MergeCounts(created=created, updated=updated, bulk=bulk)
