"""Converts a mapped source column to typed registry values once per distinct value, not once per row."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gis.importing.convert import ValueRejected, convert_value

# Arrow type of each registry field type's values; the rest are text.
ARROW_TYPES = {
    "asset_type": pa.int64(),
    "department": pa.int64(),
    "int": pa.int64(),
    "float": pa.float64(),
    "condition": pa.int64(),
    "date": pa.date32(),
    "year": pa.int64(),
}


@dataclass
class Distinct:
    """A column as its distinct values plus, per row, the position of its value among them."""

    values: list[Any]
    index: np.ndarray


def distinct_values(column: pa.Array | None, rows: int) -> Distinct:
    """Source columns repeat a few values many times (a type, a material): work on each once."""
    if column is None:
        return Distinct(values=[None], index=np.zeros(rows, dtype=np.int64))
    try:
        encoded = pc.dictionary_encode(column)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # lists, structs: no dictionary form
        return _distinct_in_python(column.to_pylist())
    values = encoded.dictionary.to_pylist()
    index = encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False).astype(np.int64)
    return Distinct(values=[*values, None], index=index)


def _distinct_in_python(values: list[Any]) -> Distinct:
    positions: dict[Any, int] = {}
    distinct: list[Any] = []
    index = np.empty(len(values), dtype=np.int64)
    for row, value in enumerate(values):
        try:
            at = positions.setdefault(value, len(distinct))
        except TypeError:  # unhashable (a list): its own entry
            at = len(distinct)
        if at == len(distinct):
            distinct.append(value)
        index[row] = at
    return Distinct(values=distinct, index=index)


@dataclass
class FieldColumn:
    values: pa.Array  # the registry value of each row (null where empty)
    reasons: np.ndarray | None  # why a row cannot be used (None where it can); None: every row can


def convert_column(name: str, column: pa.Array | None, rows: int, ctx) -> FieldColumn:
    """Registry field ``name`` for every row of a batch, following the mapping's rule for it."""
    distinct = distinct_values(column, rows)
    outcomes = [_outcome(name, value, ctx) for value in distinct.values]
    arrow_type = ARROW_TYPES.get(ctx.mapping.target.fields[name], pa.string())
    values = pa.array([value for value, _ in outcomes], type=arrow_type).take(pa.array(distinct.index))
    if all(reason is None for _, reason in outcomes):
        return FieldColumn(values=values, reasons=None)
    reasons = np.array([reason for _, reason in outcomes], dtype=object)
    return FieldColumn(values=values, reasons=reasons[distinct.index])


def constant_value(name: str, ctx) -> object | None:
    """The value field ``name`` takes on every row when the mapping fixes it (a 'value' rule or the
    table's default), else None (it comes from a source column, or the constant is unusable)."""
    rule = ctx.mapping.rules.get(name)
    if rule is not None and rule.source is not None:
        return None
    value, reason = _outcome(name, None, ctx)
    return None if reason is not None else value


def _outcome(name: str, raw: Any, ctx) -> tuple[Any, str | None]:
    """(value, None) or (None, reason) for one distinct source value."""
    target = ctx.mapping.target
    rule = ctx.mapping.rules.get(name)
    value = None
    if rule is not None:
        try:
            value = convert_value(rule, target.fields[name], raw, ctx.lookups)
        except ValueRejected as exc:
            if rule.on_error != "null":
                return None, f"{name}: {exc}"
    if value is None:
        value = target.defaults.get(name)
    if value is None and name in target.required:
        return None, f"{name} is empty"
    limit = ctx.max_length.get(name)
    if limit and isinstance(value, str) and len(value) > limit:
        return None, f"{name} is longer than {limit} characters"
    return value, None
