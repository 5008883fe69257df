"""Set-based import SQL: a staging table per import, geometry mending and the upsert into the registry.

Rows are COPYed into a temporary table, mended there with PostGIS's own ST_MakeValid, and merged
with one INSERT … ON CONFLICT per batch; one statement per batch, never one per row.
"""

from dataclasses import dataclass

from psycopg import sql

STAGE = "fieldsvc_import_stage"

SQL_TYPES = {
    "asset_type": "bigint",
    "department": "bigint",
    "int": "integer",
    "float": "double precision",
    "condition": "smallint",
    "date": "date",
    "year": "smallint",
}


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0


def stage_create(cursor, *, columns: list[tuple[str, str]]) -> None:
    """A temporary table (dropped at commit) with the registry columns of this import."""
    cols = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(SQL_TYPES.get(ftype, "text")))
            for name, ftype in columns]
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(STAGE)))
    cursor.execute(
        sql.SQL(
            "CREATE TEMP TABLE {} (row_no integer PRIMARY KEY, external_id text NOT NULL, {}, "
            "geom geometry NOT NULL, attributes jsonb NOT NULL, invalid_reason text) ON COMMIT DROP"
        ).format(sql.Identifier(STAGE), sql.SQL(", ").join(cols))
    )


def stage_load(cursor, *, column_names: list[str], rows: list[tuple]) -> None:
    cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(STAGE)))
    names = sql.SQL(", ").join(
        sql.Identifier(c) for c in ["row_no", "external_id", *column_names, "geom", "attributes"]
    )
    with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(STAGE), names)) as copy:
        for row in rows:
            copy.write_row(row)


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


def stage_upsert(
    cursor, *, table: str, constraint: str, key_columns: list[str], value_columns: list[str],
    multi_polygon: bool,
) -> UpsertCounts:
    """Insert new rows, update changed ones, leave identical ones alone; count each kind."""
    geom = sql.SQL("ST_Multi(geom)") if multi_polygon else sql.SQL("geom")
    insert_cols = [*key_columns, "external_id", *value_columns, "geom", "attributes"]
    select_cols = [sql.Identifier(c) for c in [*key_columns, "external_id", *value_columns]]
    changed_cols = [*value_columns, "geom", "attributes"]
    query = sql.SQL(
        """
        WITH merged AS (
            INSERT INTO {table} AS t ({insert_cols})
            SELECT {select_cols}, {geom}, attributes FROM {stage} ORDER BY row_no
            ON CONFLICT ON CONSTRAINT {constraint} DO UPDATE
               SET {assignments}, updated_at = statement_timestamp()
             WHERE ({old}) IS DISTINCT FROM ({new})
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
        """
    ).format(
        table=sql.Identifier(table),
        insert_cols=sql.SQL(", ").join(sql.Identifier(c) for c in insert_cols),
        select_cols=sql.SQL(", ").join(select_cols),
        geom=geom,
        stage=sql.Identifier(STAGE),
        constraint=sql.Identifier(constraint),
        assignments=sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in changed_cols
        ),
        old=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in changed_cols),
        new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in changed_cols),
    )
    cursor.execute(query)
    created, updated = cursor.fetchone()
    return UpsertCounts(created=created, updated=updated)
