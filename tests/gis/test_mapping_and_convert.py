"""Mapping files and value conversion: pure functions, no database."""

import datetime as dt

import pytest

from gis.importing.convert import ValueRejected, convert_value
from gis.importing.mapping import FieldRule, MappingError, parse_mapping


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"target": "pipes", "external_id": "id"}, "target must be one of"),
        ({"target": "asset", "external_id": "id"}, "asset needs field(s): asset_type"),
        ({"target": "asset", "external_id": "id", "fields": {"colour": "c"}}, "'colour' is not a field of asset"),
        ({"target": "asset", "fields": {"asset_type": "t"}}, "external_id must name a source field"),
        ({"target": "asset", "external_id": "id", "fields": {"asset_type": {"from": "a", "value": "b"}}},
         "exactly one of 'from'"),
        ({"target": "asset", "external_id": "id", "fields": {"asset_type": "t"}, "source": {"x": "lon"}},
         "give both x and y"),
    ],
)
def test_bad_mappings_say_what_is_wrong(raw, message):
    with pytest.raises(MappingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_mapping(raw)


def test_inches_become_millimetres_and_zero_means_unknown():
    rule = FieldRule(target="diameter_mm", source="Diameter", scale=25.4, null_if=(0,))
    assert convert_value(rule, "int", 12, {}) == 305
    assert convert_value(rule, "int", 0, {}) is None


@pytest.mark.parametrize(
    ("raw", "parse", "expected"),
    [(946684800000, "epoch_ms", dt.date(2000, 1, 1)), ("2019/05/04", None, dt.date(2019, 5, 4))],
)
def test_dates_are_read_from_epoch_ms_and_iso_text(raw, parse, expected):
    assert convert_value(FieldRule(target="install_date", source="d", parse=parse), "date", raw, {}) == expected


def test_unknown_department_is_rejected_by_name():
    rule = FieldRule(target="department", value="roads")
    with pytest.raises(ValueRejected, match="unknown department 'roads'"):
        convert_value(rule, "department", None, {"department": {"water": 1}})


def test_value_map_falls_back_to_default():
    rule = FieldRule(target="status", source="s", value_map={"ACT": "active"}, default="inactive")
    assert convert_value(rule, "status", "ACT", {}) == "active"
    assert convert_value(rule, "status", "MITFL", {}) == "inactive"
