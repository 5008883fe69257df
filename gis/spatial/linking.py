"""Spatial SQL for linking reports: the assets near a point, the utilities beneath it, a named asset.

One round trip per report on intake. Indexes relied on: the GiST indexes on gis_asset.geom,
gis_utilityline.geom and gis_utilitystructure.geom (Django creates one per geometry field), and the
unique (asset_type_id, external_id) index for a named asset.
"""

from functools import cache

from django.db import connection

from gis import crs
from gis.models import Asset, AssetType, LifecycleStatus, UtilityLine, UtilityStructure

# Assets a report can be about: in service, or out of service (a dark lamp may be switched off).
LINKABLE_ASSET_STATUSES = (LifecycleStatus.ACTIVE, LifecycleStatus.INACTIVE)
# Utilities that can lie beneath: abandoned pipes still collapse, so only removed/proposed are left out.
UNLINKABLE_UTILITY_STATUSES = (LifecycleStatus.REMOVED, LifecycleStatus.PROPOSED)
# Nearest assets fetched per report: enough to break ties between equidistant ones.
ASSET_CANDIDATES = 16

COLUMNS = ("source", "id", "kind", "type", "external_id", "distance_m", "depth_m", "material", "diameter_mm",
           "install_year", "fraction", "length_m")


@cache
def _near_sql() -> str:
    point = f"ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), {crs.storage_srid()})"
    asset, kind, line, structure = (Asset._meta.db_table, AssetType._meta.db_table, UtilityLine._meta.db_table,
                                    UtilityStructure._meta.db_table)
    return f"""
    (SELECT 'asset', a.id, NULL, t.code, a.external_id, ST_Distance(a.geom, {point}), NULL::float, NULL,
            NULL::int, NULL::int, NULL::float, NULL::float
       FROM {asset} a JOIN {kind} t ON t.id = a.asset_type_id
      WHERE ST_DWithin(a.geom, {point}, %(radius_m)s) AND a.asset_type_id = ANY(%(type_ids)s)
        AND a.status = ANY(%(asset_statuses)s)
      ORDER BY a.geom <-> {point}, a.id LIMIT {ASSET_CANDIDATES})
    UNION ALL
    SELECT 'claim', a.id, NULL, t.code, a.external_id, ST_Distance(a.geom, {point}), NULL, NULL, NULL, NULL,
           NULL, NULL
      FROM {asset} a JOIN {kind} t ON t.id = a.asset_type_id
     WHERE a.external_id = %(claim)s AND a.asset_type_id = ANY(%(type_ids)s)
    UNION ALL
    SELECT 'line', l.id, l.kind, l.line_type, l.external_id, ST_Distance(l.geom, {point}), l.depth_m, l.material,
           l.diameter_mm, l.install_year, ST_LineLocatePoint(l.geom, {point}), ST_Length(l.geom)
      FROM {line} l
     WHERE ST_DWithin(l.geom, {point}, %(utility_radius_m)s) AND NOT l.status = ANY(%(utility_statuses)s)
    UNION ALL
    SELECT 'structure', s.id, s.kind, s.structure_type, s.external_id, ST_Distance(s.geom, {point}), s.depth_m,
           '', NULL, NULL, NULL, NULL
      FROM {structure} s
     WHERE ST_DWithin(s.geom, {point}, %(utility_radius_m)s) AND NOT s.status = ANY(%(utility_statuses)s)
    """


@cache
def _claim_sql() -> str:
    return (f"SELECT 'claim', a.id, NULL, t.code, a.external_id, NULL::float, NULL::float, NULL, NULL::int, "
            f"NULL::int, NULL::float, NULL::float FROM {Asset._meta.db_table} a "
            f"JOIN {AssetType._meta.db_table} t ON t.id = a.asset_type_id "
            f"WHERE a.external_id = %(claim)s AND a.asset_type_id = ANY(%(type_ids)s)")


def link_candidates(*, x: float | None, y: float | None, type_ids: list[int], radius_m: float,
                    utility_radius_m: float, claim: str = "") -> list[tuple]:
    """Rows shaped like COLUMNS for a report at storage-CRS (x, y): the nearest compatible assets within
    ``radius_m`` ('asset'), the named asset wherever it is ('claim'), utility lines and structures within
    ``utility_radius_m`` ('line', 'structure'). Without a location only the named asset is looked up."""
    params = {"x": x, "y": y, "radius_m": radius_m, "type_ids": type_ids, "claim": claim,
              "utility_radius_m": utility_radius_m, "asset_statuses": list(LINKABLE_ASSET_STATUSES),
              "utility_statuses": list(UNLINKABLE_UTILITY_STATUSES)}
    if x is None:
        if not claim or not type_ids:
            return []
        sql = _claim_sql()
    else:
        sql = _near_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- Loaders for the in-memory index (gis/registry_index.py): geometries as WKB, one pass each ---

def assets_wkb(*, type_ids: list[int]) -> list[tuple[int, int, bytes]]:
    """(id, asset_type_id, WKB) of every linkable asset of these types."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, asset_type_id, ST_AsBinary(geom) FROM {Asset._meta.db_table} "
                       "WHERE asset_type_id = ANY(%s) AND status = ANY(%s)",
                       [type_ids, list(LINKABLE_ASSET_STATUSES)])
        return cursor.fetchall()


def asset_labels(*, ids: list[int]) -> dict[int, tuple[str, str]]:
    """id -> (asset type code, external id), for the assets a batch linked to."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a.id, t.code, a.external_id FROM {Asset._meta.db_table} a "
                       f"JOIN {AssetType._meta.db_table} t ON t.id = a.asset_type_id WHERE a.id = ANY(%s)", [ids])
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def utilities_wkb() -> tuple[list[tuple], list[tuple]]:
    """Utility lines and structures that can lie beneath a report: attributes and WKB."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, kind, line_type, external_id, depth_m, material, diameter_mm, install_year, "
                       f"ST_AsBinary(geom) FROM {UtilityLine._meta.db_table} WHERE NOT status = ANY(%s)",
                       [list(UNLINKABLE_UTILITY_STATUSES)])
        lines = cursor.fetchall()
        cursor.execute(f"SELECT id, kind, structure_type, external_id, depth_m, '', NULL::int, NULL::int, "
                       f"ST_AsBinary(geom) FROM {UtilityStructure._meta.db_table} WHERE NOT status = ANY(%s)",
                       [list(UNLINKABLE_UTILITY_STATUSES)])
        return lines, cursor.fetchall()


def sql_xy(column: str) -> str:
    """The storage-CRS x and y of a point column, as two select-list terms."""
    return f"ST_X({column}), ST_Y({column})"
