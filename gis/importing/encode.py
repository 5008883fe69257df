"""Encodes staged rows for COPY: hex EWKB geometries, JSON attributes and CSV, column-wise."""

import binascii
import io
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely

from gis.importing.fields import distinct_values

# Little-endian 2D point as WKB (byte order, type 1, x, y) and as EWKB (type with the SRID flag, SRID).
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
_EWKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
_EWKB_POINT_TYPE = 0x20000001


def plain_points_xy(wkb: pa.Array | None) -> np.ndarray | None:
    """(n, 2) coordinates when every row is a 2D little-endian WKB point, else None.

    Most big layers are points (trees, lights, hydrants); reading their coordinates straight from the
    WKB buffer skips building a million shapely objects (~0.6 s) and encoding them again (~0.7 s).
    """
    if wkb is None or not len(wkb) or wkb.null_count or not pa.types.is_binary(wkb.type):
        return None
    offsets = np.frombuffer(wkb.buffers()[1], dtype=np.int32)[wkb.offset:wkb.offset + len(wkb) + 1]
    if not (np.diff(offsets) == _WKB_POINT.itemsize).all():
        return None
    data = np.frombuffer(wkb.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    points = data.view(_WKB_POINT)
    if not ((points["order"] == 1) & (points["type"] == 1)).all():
        return None
    return np.column_stack([points["x"], points["y"]])


def geometries_ewkb_hex(geoms: np.ndarray, srid: int) -> pa.Array:
    """Hex EWKB text of each geometry (none may be missing), the form PostGIS reads fastest from COPY."""
    encoded = shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)
    return pa.array(encoded, type=pa.string())


def points_ewkb_hex(coords: np.ndarray, srid: int) -> pa.Array:
    """Hex EWKB of 2D points from an (n, 2) array, built as one buffer (~50 ms per million points)."""
    records = np.empty(len(coords), dtype=_EWKB_POINT)
    records["order"], records["type"], records["srid"] = 1, _EWKB_POINT_TYPE, srid
    records["x"], records["y"] = coords[:, 0], coords[:, 1]
    width = 2 * _EWKB_POINT.itemsize
    offsets = np.arange(0, width * (len(coords) + 1), width, dtype=np.int32)
    text = binascii.hexlify(records.tobytes())
    return pa.StringArray.from_buffers(len(coords), pa.py_buffer(offsets), pa.py_buffer(text))


def _json_default(value: Any) -> Any:
    # orjson writes dates and times itself; what is left is bytes (as hex) and exotic types (as text).
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def attributes_json(names: list[str], columns: list[pa.Array], rows: int) -> pa.Array:
    """One JSON object per row with its non-null source attributes (NaN is written as null)."""
    if not names:
        return pa.array(np.full(rows, "{}", dtype=object), type=pa.string())
    # Each member ends in a comma and an empty value is ""; no JSON value ends in a comma, so trimming
    # the last one is safe. (Arrow 26's null_handling="skip" drops rows where all are null: avoided.)
    members = [_json_members(name, column) for name, column in zip(names, columns, strict=True)]
    inner = pc.utf8_rtrim(pc.binary_join_element_wise(*members, ""), characters=",")
    return pc.binary_join_element_wise("{", inner, "}", "")


def _json_members(name: str, column: pa.Array) -> pa.Array:
    """'"name":value,' per row, "" where the value is null: each distinct value is encoded once."""
    distinct = distinct_values(column, len(column))
    key = orjson.dumps(name).decode() + ":"
    encoded = [
        "" if value is None else key + orjson.dumps(value, default=_json_default).decode() + ","
        for value in distinct.values
    ]
    return pa.array(encoded, type=pa.string()).take(pa.array(distinct.index))


def csv_bytes(table: pa.Table) -> bytes:
    """The table as COPY … (FORMAT csv) input: text is always quoted, so only an unquoted empty is NULL."""
    out = io.BytesIO()
    pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False))
    return out.getvalue()
