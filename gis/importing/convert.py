"""Turns raw source values into typed registry values, following a mapping's field rules."""

import datetime as dt
import math
from typing import Any

from gis.importing.mapping import FieldRule
from gis.models import LifecycleStatus, NetworkKind

_STATUSES = frozenset(LifecycleStatus.values)
_NETWORK_KINDS = frozenset(NetworkKind.values)
_MIN_DATE, _MAX_DATE = dt.date(1800, 1, 1), dt.date(2100, 12, 31)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ValueRejected(ValueError):
    """This row's value for one field cannot be used."""


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueRejected(f"{value!r} is not a number") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueRejected(f"{value!r} is not a finite number")
    return number


def _date(value: Any, parse: str | None) -> dt.date:
    if parse == "epoch_ms" or (parse is None and isinstance(value, int | float)):
        try:
            day = (_EPOCH + dt.timedelta(milliseconds=_number(value))).date()
        except OverflowError:
            raise ValueRejected(f"{value!r} is not a date in epoch milliseconds") from None
    elif isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = str(value).strip().replace("/", "-")
        try:
            day = dt.date.fromisoformat(text[:10])
        except ValueError:
            raise ValueRejected(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if not _MIN_DATE <= day <= _MAX_DATE:
        raise ValueRejected(f"{day.isoformat()} is outside {_MIN_DATE.year}-{_MAX_DATE.year}")
    return day


def _year(value: Any, parse: str | None) -> int:
    if parse in ("epoch_ms", "date") or isinstance(value, dt.date):
        return _date(value, parse).year
    year = int(_number(value))
    if not 1800 <= year <= 2100:
        raise ValueRejected(f"year {year} is outside 1800-2100")
    return year


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 449.0 read from a float column is the id "449"
    return str(value).strip()


def convert_value(rule: FieldRule, field_type: str, raw: Any, lookups: dict[str, dict]) -> Any:
    """The registry value for ``raw``; None when empty; raises ValueRejected with the reason."""
    value = rule.value if rule.source is None else raw
    if rule.null_if and value in rule.null_if:
        value = None
    if is_blank(value):
        value = None
    if value is not None and rule.value_map is not None:
        key = _text(value)
        if key in rule.value_map:
            value = rule.value_map[key]
        elif rule.default is None:
            raise ValueRejected(f"{key!r} is not in the mapping's value map")
        else:
            value = rule.default
    if value is None:
        value = rule.default
    if value is None:
        return None
    return _typed(field_type, value, rule, lookups)


def _typed(field_type: str, value: Any, rule: FieldRule, lookups: dict[str, dict]) -> Any:
    if rule.scale is not None and field_type in ("int", "float", "condition"):
        value = _number(value) * rule.scale
    match field_type:
        case "text":
            return _text(value)
        case "code":
            return _text(value).lower().replace(" ", "_")
        case "int":
            number = round(_number(value))
            if number < 0:
                raise ValueRejected(f"{number} is negative")
            return number
        case "float":
            number = _number(value)
            if number < 0:
                raise ValueRejected(f"{number} is negative")
            return number
        case "condition":
            number = round(_number(value))
            if not 0 <= number <= 100:
                raise ValueRejected(f"condition {number} is outside 0-100")
            return number
        case "date":
            return _date(value, rule.parse)
        case "year":
            return _year(value, rule.parse)
        case "status":
            status = _text(value).lower()
            if status not in _STATUSES:
                raise ValueRejected(f"status {status!r} is not one of {', '.join(sorted(_STATUSES))}")
            return status
        case "network_kind":
            kind = _text(value).lower()
            if kind not in _NETWORK_KINDS:
                raise ValueRejected(f"network kind {kind!r} is not one of {', '.join(sorted(_NETWORK_KINDS))}")
            return kind
        case "department" | "asset_type":
            code = _text(value)
            found = lookups[field_type].get(code)
            if found is None:
                raise ValueRejected(f"unknown {field_type.replace('_', ' ')} {code!r}")
            return found
    raise AssertionError(f"unhandled field type {field_type}")
