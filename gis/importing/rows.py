"""Checks each feature of a batch and turns the good ones into staging rows (geometry + fields)."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import CRS

from gis import crs
from gis.importing.convert import ValueRejected, convert_value, is_blank
from gis.importing.mapping import Mapping
from gis.importing.reader import Batch
from gis.models import GeometryKind

# shapely type ids -> the geometry kind they are
_KIND_OF_TYPE = {
    0: GeometryKind.POINT, 4: GeometryKind.POINT,
    1: GeometryKind.LINE, 5: GeometryKind.LINE,
    3: GeometryKind.POLYGON, 6: GeometryKind.POLYGON,
}
_TYPE_NAMES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
               6: "MultiPolygon", 7: "GeometryCollection"}


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
    seen: dict[tuple, int] = field(default_factory=dict)  # natural key -> first row


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def attributes_json(names: list[str], values: list[Any]) -> str:
    # Empty values only bloat the column; orjson writes NaN as null (JSON has no NaN), and is
    # ~4x faster than json.dumps here (1.66 s -> 0.44 s per 200k rows, bench/import_bench.py).
    kept = {name: value for name, value in zip(names, values, strict=True) if value is not None}
    return orjson.dumps(kept, default=_json_default).decode()


def _checked_geometries(batch: Batch, ctx: RowContext, rejects: dict[int, str]) -> np.ndarray:
    """Storage-CRS geometries; rows that cannot have one get a reason in ``rejects``."""
    geoms = batch.geoms
    n = len(geoms)
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    nan_rows = np.zeros(n, dtype=bool)
    nan_rows[index[np.isnan(coords).any(axis=1)]] = True
    for i in np.flatnonzero(missing):
        rejects[int(i)] = "missing or unreadable geometry"
    for i in np.flatnonzero(empty):
        rejects[int(i)] = "empty geometry"
    for i in np.flatnonzero(nan_rows & ~missing & ~empty):
        rejects[int(i)] = "geometry has NaN coordinates"
    ok = ~(missing | empty | nan_rows)
    moved = np.full(n, None, dtype=object)
    moved[ok] = crs.to_storage_array(geoms[ok], source=ctx.source_crs)
    minx, miny, maxx, maxy = crs.storage_valid_bounds()
    bounds = shapely.bounds(moved)
    with np.errstate(invalid="ignore"):
        outside = ok & ~(
            (bounds[:, 0] >= minx) & (bounds[:, 1] >= miny) & (bounds[:, 2] <= maxx) & (bounds[:, 3] <= maxy)
        )
    area = crs.storage_crs_name()
    for i in np.flatnonzero(outside):
        rejects[int(i)] = f"outside the valid area of the storage CRS ({area})"
    moved[outside] = None
    return moved


def _id_text(raw: Any) -> str:
    """An id as text; "12.0" (a number written by a float column or a CSV export) is "12"."""
    text = str(raw).strip()
    if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
        return text[:-2]
    return text


def _fit_kind(geom: Any, kind: str, *, single_part: bool) -> Any:
    """The geometry as the kind the table stores (single-part where the column is), or ValueRejected."""
    type_id = shapely.get_type_id(geom)
    have = _KIND_OF_TYPE.get(type_id)
    if have != kind:
        raise ValueRejected(f"geometry is a {_TYPE_NAMES.get(type_id, 'geometry')}; this layer takes {kind}s")
    if not single_part:
        return geom
    if kind == GeometryKind.POINT and type_id == 4:
        if shapely.get_num_geometries(geom) != 1:
            raise ValueRejected("a MultiPoint with several points; this layer takes single points")
        return shapely.get_geometry(geom, 0)
    if kind == GeometryKind.LINE and type_id == 5:
        merged = shapely.line_merge(geom)
        if shapely.get_type_id(merged) != 1:
            raise ValueRejected("a MultiLineString whose parts do not join into one line")
        return merged
    return geom


class _Memo:
    """Converted values per (field, raw value): source columns repeat a few values many times."""

    def __init__(self, ctx: RowContext):
        self.ctx = ctx
        self.cache: dict[tuple[str, Any], Any] = {}

    def convert(self, name: str, raw: Any) -> Any:
        try:
            key = (name, raw)
            hit = self.cache.get(key, _MISSING)
        except TypeError:  # an unhashable raw value (a list from a JSON property)
            key, hit = None, _MISSING
        if hit is _MISSING:
            try:
                hit = convert_value(self.ctx.mapping.rules[name], self.ctx.mapping.target.fields[name], raw,
                                    self.ctx.lookups)
            except ValueRejected as exc:
                hit = exc
            if key is not None:
                self.cache[key] = hit
        if isinstance(hit, ValueRejected):
            raise hit
        return hit


_MISSING = object()


def prepare_batch(batch: Batch, ctx: RowContext) -> tuple[list[tuple], list[Reject]]:
    mapping = ctx.mapping
    target = mapping.target
    rejects: dict[int, str] = {}
    geoms = _checked_geometries(batch, ctx, rejects)
    srid = crs.storage_srid()
    memo = _Memo(ctx)
    # Single points need no per-row fitting; their EWKB is made for the whole batch at once.
    plain_points = shapely.get_type_id(geoms) == 0
    ewkb_points = np.full(len(geoms), None, dtype=object)
    ewkb_points[plain_points] = shapely.to_wkb(
        shapely.set_srid(geoms[plain_points], srid), hex=True, include_srid=True
    )
    ext_values = batch.columns.get(mapping.external_id) if mapping.external_id != "$fid" else None
    rule_values = {
        name: (batch.columns.get(rule.source) if rule.source else None)
        for name, rule in mapping.rules.items()
    }
    attr_columns = [batch.columns[a] for a in ctx.attribute_names]
    rows: list[tuple] = []
    for i in range(len(geoms)):
        if i in rejects:
            continue
        row_no = batch.first_row + i
        try:
            raw_id = ext_values[i] if ext_values is not None else int(batch.fids[i])
            if is_blank(raw_id):
                raise ValueRejected("missing external id")
            external_id = mapping.external_id_prefix + _id_text(raw_id)
            values = []
            for name in ctx.field_names:
                rule = mapping.rules.get(name)
                if rule is None:
                    value = target.defaults.get(name)
                else:
                    raw = rule_values[name][i] if rule_values[name] is not None else None
                    try:
                        value = memo.convert(name, raw)
                    except ValueRejected as exc:
                        if rule.on_error != "null":
                            raise ValueRejected(f"{name}: {exc}") from None
                        value = None
                    if value is None:
                        value = target.defaults.get(name)
                if value is None and name in target.required:
                    raise ValueRejected(f"{name} is empty")
                limit = ctx.max_length.get(name)
                if limit and isinstance(value, str) and len(value) > limit:
                    raise ValueRejected(f"{name} is longer than {limit} characters")
                values.append(value)
            kind = target.geometry_kind or ctx.asset_type_kinds[values[ctx.field_names.index("asset_type")]]
            if plain_points[i] and kind == GeometryKind.POINT:
                geom = None
            else:
                geom = _fit_kind(geoms[i], kind, single_part=target.geometry_kind is not None)
            key = (*(values[ctx.field_names.index(k)] for k in target.key_fields), external_id)
            first = ctx.seen.setdefault(key, row_no)
            if first != row_no:
                raise ValueRejected(f"external id {external_id!r} already used by row {first}")
        except ValueRejected as exc:
            rejects[int(i)] = str(exc)
            continue
        ewkb = ewkb_points[i] if geom is None else shapely.to_wkb(
            shapely.set_srid(geom, srid), hex=True, include_srid=True
        )
        attrs = attributes_json(ctx.attribute_names, [col[i] for col in attr_columns])
        rows.append((row_no, external_id, *values, ewkb, attrs))
    ordered = [Reject(row=batch.first_row + i, reason=r) for i, r in sorted(rejects.items())]
    return rows, ordered
