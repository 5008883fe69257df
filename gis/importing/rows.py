"""Checks each feature of a batch and turns the good ones into staging rows, column by column."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS

from gis import crs
from gis.importing.convert import is_blank
from gis.importing.encode import attributes_json, geometries_ewkb_hex, plain_points_xy, points_ewkb_hex
from gis.importing.fields import convert_column
from gis.importing.mapping import Mapping
from gis.importing.reader import Batch
from gis.importing.targets import column_for
from gis.models import GeometryKind

# shapely type ids -> the geometry kind they are
_KIND_OF_TYPE = {
    0: GeometryKind.POINT, 4: GeometryKind.POINT,
    1: GeometryKind.LINE, 5: GeometryKind.LINE,
    3: GeometryKind.POLYGON, 6: GeometryKind.POLYGON,
}
_TYPE_NAMES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
               6: "MultiPolygon", 7: "GeometryCollection"}
EXTERNAL_ID_MAX_LENGTH = 120


@dataclass
class Reject:
    row: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "reason": self.reason}


@dataclass
class RowContext:
    """What stays the same across the batches of one import."""

    mapping: Mapping
    source_crs: CRS
    field_names: list[str]  # registry fields staged, in column order
    attribute_names: list[str]
    lookups: dict[str, dict]
    max_length: dict[str, int]
    asset_type_kinds: dict[int, str] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # natural key -> first row using it


@dataclass
class PreparedBatch:
    table: pa.Table  # good rows: row_no, external_id, registry fields…, geom (hex EWKB), attributes (JSON)
    rejects: list[Reject]
    only_points: bool  # points are always valid: the stage needs no ST_IsValid pass


class _Reasons:
    """Why each row of a batch is rejected; the first reason found for a row is the one kept."""

    def __init__(self, rows: int):
        self.reasons = np.full(rows, None, dtype=object)

    def ok(self) -> np.ndarray:
        return np.equal(self.reasons, None)

    def add(self, mask: np.ndarray, reason: str | np.ndarray) -> None:
        mask = mask & self.ok()
        self.reasons[mask] = reason[mask] if isinstance(reason, np.ndarray) else reason


def _reject_outside(bounds: np.ndarray, reasons: _Reasons) -> None:
    """Rows whose (minx, miny, maxx, maxy) leave the storage CRS's area of use."""
    minx, miny, maxx, maxy = crs.storage_valid_bounds()
    with np.errstate(invalid="ignore"):
        inside = (bounds[:, 0] >= minx) & (bounds[:, 1] >= miny) & (bounds[:, 2] <= maxx) & (bounds[:, 3] <= maxy)
    reasons.add(~inside, f"outside the valid area of the storage CRS ({crs.storage_crs_name()})")


def _checked_points(xy: np.ndarray, ctx: RowContext, reasons: _Reasons) -> np.ndarray:
    """Storage-CRS coordinates of a batch of plain points; rows that cannot have them get a reason."""
    nan = np.isnan(xy)
    reasons.add(nan.all(axis=1), "empty geometry")  # WKB writes POINT EMPTY as (NaN, NaN)
    reasons.add(nan.any(axis=1), "geometry has NaN coordinates")
    moved = crs.to_storage_xy(xy, source=ctx.source_crs)
    _reject_outside(np.hstack([moved, moved]), reasons)
    return moved


def _checked_geometries(batch: Batch, ctx: RowContext, reasons: _Reasons) -> np.ndarray:
    """Storage-CRS geometries; rows that cannot have one get a reason."""
    geoms = batch.geoms
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    nan_rows = np.zeros(len(geoms), dtype=bool)
    nan_rows[index[np.isnan(coords).any(axis=1)]] = True
    reasons.add(missing, "missing or unreadable geometry")
    reasons.add(empty, "empty geometry")
    reasons.add(nan_rows, "geometry has NaN coordinates")
    ok = reasons.ok()
    moved = np.full(len(geoms), None, dtype=object)
    moved[ok] = crs.to_storage_array(geoms[ok], source=ctx.source_crs)
    _reject_outside(shapely.bounds(moved), reasons)
    return moved


def _id_text(column: pa.Array) -> pa.Array:
    """Ids as trimmed text; "12.0" (a number written by a float column or a CSV export) is "12"."""
    if pa.types.is_integer(column.type):
        return column.cast(pa.string())
    if pa.types.is_floating(column.type):
        return pc.if_else(pc.is_nan(column), None, column).cast(pa.string())  # 12.0 casts to "12"
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        text = pc.utf8_trim_whitespace(column.cast(pa.string()))
        return pc.replace_substring_regex(text, r"^(-?\d+)\.0$", r"\1")
    return pa.array([None if is_blank(v) else str(v).strip() for v in column.to_pylist()], type=pa.string())


def _external_ids(batch: Batch, mapping: Mapping, reasons: _Reasons) -> pa.Array:
    if mapping.external_id == "$fid":
        ids = pa.array(batch.fids, type=pa.int64()).cast(pa.string())
    else:
        ids = _id_text(batch.columns[mapping.external_id])
    blank = pc.fill_null(pc.equal(pc.utf8_length(ids), 0), True).to_numpy(zero_copy_only=False)
    reasons.add(blank, "missing external id")
    if mapping.external_id_prefix:
        ids = pc.binary_join_element_wise(mapping.external_id_prefix, ids, "")
    too_long = pc.fill_null(pc.greater(pc.utf8_length(ids), EXTERNAL_ID_MAX_LENGTH), False)
    reasons.add(too_long.to_numpy(zero_copy_only=False),
                f"external_id is longer than {EXTERNAL_ID_MAX_LENGTH} characters")
    return ids


def _row_kinds(ctx: RowContext, values: dict[str, pa.Array], rows: int) -> np.ndarray:
    """The geometry kind each row must have: the layer's, or its asset type's."""
    kind = ctx.mapping.target.geometry_kind
    if kind is not None:
        return np.full(rows, kind, dtype=object)
    type_ids = values[column_for("asset_type")].fill_null(-1).to_numpy(zero_copy_only=False)
    distinct, index = np.unique(type_ids, return_inverse=True)
    return np.array([ctx.asset_type_kinds.get(int(t)) for t in distinct], dtype=object)[index]


def _check_kinds(type_ids: np.ndarray, kinds: np.ndarray, reasons: _Reasons) -> None:
    """Reject rows whose geometry is not of the kind their table (or asset type) takes."""
    have = np.array([_KIND_OF_TYPE.get(t) for t in range(8)] + [None], dtype=object)[type_ids]
    wrong = reasons.ok() & (have != kinds)
    for type_id, kind in {(int(t), k) for t, k in zip(type_ids[wrong], kinds[wrong], strict=True)}:
        name = _TYPE_NAMES.get(type_id, "geometry")
        reasons.add(wrong & (type_ids == type_id) & (kinds == kind), f"geometry is a {name}; this layer takes {kind}s")


def _single_parts(geoms: np.ndarray, type_ids: np.ndarray, reasons: _Reasons) -> np.ndarray:
    """One-part multi-geometries as their part, for tables that store single points or lines."""
    fitted = geoms.copy()
    multi_points = reasons.ok() & (type_ids == 4)
    if multi_points.any():
        several = multi_points & (shapely.get_num_geometries(geoms) != 1)
        reasons.add(several, "a MultiPoint with several points; this layer takes single points")
        single = multi_points & ~several
        fitted[single] = shapely.get_geometry(geoms[single], 0)
    multi_lines = reasons.ok() & (type_ids == 5)
    if multi_lines.any():
        merged = np.full(len(geoms), None, dtype=object)
        merged[multi_lines] = shapely.line_merge(geoms[multi_lines])
        broken = multi_lines & (shapely.get_type_id(merged) != 1)
        reasons.add(broken, "a MultiLineString whose parts do not join into one line")
        joined = multi_lines & ~broken
        fitted[joined] = merged[joined]
    return fitted


def _check_duplicates(ctx: RowContext, keys: list[str], rows: list[int], ids: list[str]) -> dict[int, str]:
    """Positions of rows whose natural key an earlier row of the file already used, with the reason."""
    fresh = dict(zip(keys, rows, strict=True))
    if len(fresh) == len(keys) and ctx.seen.keys().isdisjoint(fresh):
        ctx.seen.update(fresh)  # the usual case, checked at C speed
        return {}
    repeated = {}
    for position, (key, row) in enumerate(zip(keys, rows, strict=True)):
        first = ctx.seen.setdefault(key, row)
        if first != row:
            repeated[position] = f"external id {ids[position]!r} already used by row {first}"
    return repeated


def _natural_keys(ctx: RowContext, values: dict[str, pa.Array], ids: pa.Array) -> pa.Array:
    parts = [values[column_for(f)].cast(pa.string()) for f in ctx.mapping.target.key_fields]
    return pc.binary_join_element_wise(*parts, ids, "\x1f", null_handling="replace", null_replacement="")


def prepare_batch(batch: Batch, ctx: RowContext) -> PreparedBatch:
    """The batch's good rows, ready to stage, and its rejects with their reasons."""
    target = ctx.mapping.target
    rows = batch.rows
    reasons = _Reasons(rows)
    xy = plain_points_xy(batch.wkb)
    if xy is not None:
        xy = _checked_points(xy, ctx, reasons)
        type_ids = np.zeros(rows, dtype=np.int64)
    else:
        geoms = _checked_geometries(batch, ctx, reasons)
        type_ids = shapely.get_type_id(geoms)
    ids = _external_ids(batch, ctx.mapping, reasons)
    values: dict[str, pa.Array] = {}
    for name in ctx.field_names:
        source = ctx.mapping.rules[name].source if name in ctx.mapping.rules else None
        converted = convert_column(name, batch.columns.get(source) if source else None, rows, ctx)
        if converted.reasons is not None:
            reasons.add(np.not_equal(converted.reasons, None), converted.reasons)
        values[column_for(name)] = converted.values
    _check_kinds(type_ids, _row_kinds(ctx, values, rows), reasons)
    if xy is None and target.geometry_kind is not None:
        geoms = _single_parts(geoms, type_ids, reasons)
    good = np.flatnonzero(reasons.ok())
    take = pa.array(good, type=pa.int64())
    row_nos = batch.first_row + good
    ids, values = ids.take(take), {c: v.take(take) for c, v in values.items()}
    repeated = _check_duplicates(ctx, _natural_keys(ctx, values, ids).to_pylist(), row_nos.tolist(),
                                 ids.to_pylist())
    if repeated:
        reasons.reasons[good[list(repeated)]] = list(repeated.values())
        keep = np.ones(len(good), dtype=bool)
        keep[list(repeated)] = False
        good, row_nos = good[keep], row_nos[keep]
        take = pa.array(np.flatnonzero(keep), type=pa.int64())
        ids, values = ids.take(take), {c: v.take(take) for c, v in values.items()}
    good_take = pa.array(good, type=pa.int64())
    if xy is not None:
        geometry, only_points = points_ewkb_hex(xy[good], crs.storage_srid()), True
    else:
        geometry = geometries_ewkb_hex(geoms[good], crs.storage_srid())
        only_points = bool((shapely.get_type_id(geoms[good]) == 0).all())
    table = pa.table({
        "row_no": pa.array(row_nos, type=pa.int64()),
        "external_id": ids,
        **values,
        "geom": geometry,
        "attributes": attributes_json(
            ctx.attribute_names, [batch.columns[a].take(good_take) for a in ctx.attribute_names], len(good)
        ),
    })
    bad = np.flatnonzero(~reasons.ok())
    rejects = [Reject(row=batch.first_row + int(i), reason=reasons.reasons[i]) for i in bad]
    return PreparedBatch(table=table, rejects=rejects, only_points=only_points)
