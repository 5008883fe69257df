"""Mapping files (YAML or JSON): which source fields become which registry fields, and how."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gis.importing.targets import TARGETS, Target

PARSERS = {"epoch_ms", "date", "year"}


class MappingError(ValueError):
    """The mapping file is unreadable or asks for something the registry does not have."""


@dataclass(frozen=True)
class FieldRule:
    """How one registry field gets its value: a source field or a constant, then conversions."""

    target: str
    source: str | None = None
    value: Any = None
    value_map: dict[str, Any] | None = None
    default: Any = None
    scale: float | None = None
    parse: str | None = None
    null_if: tuple[Any, ...] = ()
    on_error: str = "reject"  # or "null": keep the row, leave the field empty


@dataclass(frozen=True)
class Mapping:
    target: Target
    external_id: str  # a source field name, or "$fid" for the feature's position in the file
    external_id_prefix: str
    rules: dict[str, FieldRule]
    attributes: tuple[str, ...] | str  # "all", "none" or a list of source fields
    layer: str | None = None
    crs: str | None = None
    csv_x: str | None = None
    csv_y: str | None = None
    csv_wkt: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def source_fields(self) -> set[str]:
        used = {r.source for r in self.rules.values() if r.source}
        if self.external_id != "$fid":
            used.add(self.external_id)
        return used


def load_mapping(path: str | Path) -> Mapping:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc.strerror}") from exc
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"mapping file {path.name} is not valid YAML/JSON: {exc}") from exc
    return parse_mapping(raw)


def _rule(target: Target, name: str, spec: Any) -> FieldRule:
    if name not in target.fields:
        known = ", ".join(sorted(target.fields))
        raise MappingError(f"'{name}' is not a field of {target.name} (fields: {known})")
    if isinstance(spec, str):
        return FieldRule(target=name, source=spec)
    if not isinstance(spec, dict):
        raise MappingError(f"field '{name}': give a source field name or a table of options")
    unknown = set(spec) - {"from", "value", "map", "default", "scale", "parse", "null_if", "on_error"}
    if unknown:
        raise MappingError(f"field '{name}': unknown option(s) {', '.join(sorted(unknown))}")
    if ("from" in spec) == ("value" in spec):
        raise MappingError(f"field '{name}': give exactly one of 'from' (source field) or 'value'")
    if spec.get("parse") is not None and spec["parse"] not in PARSERS:
        raise MappingError(f"field '{name}': parse must be one of {', '.join(sorted(PARSERS))}")
    if spec.get("on_error", "reject") not in ("reject", "null"):
        raise MappingError(f"field '{name}': on_error must be 'reject' or 'null'")
    value_map = spec.get("map")
    if value_map is not None and not isinstance(value_map, dict):
        raise MappingError(f"field '{name}': map must be a table of source value -> registry value")
    null_if = spec.get("null_if", [])
    return FieldRule(
        target=name,
        source=spec.get("from"),
        value=spec.get("value"),
        value_map={str(k): v for k, v in value_map.items()} if value_map else None,
        default=spec.get("default"),
        scale=float(spec["scale"]) if spec.get("scale") is not None else None,
        parse=spec.get("parse"),
        null_if=tuple(null_if if isinstance(null_if, list) else [null_if]),
        on_error=spec.get("on_error", "reject"),
    )


def parse_mapping(raw: Any) -> Mapping:
    if not isinstance(raw, dict):
        raise MappingError("a mapping is a table with at least 'target' and 'external_id'")
    unknown = set(raw) - {"target", "source", "external_id", "fields", "attributes", "description"}
    if unknown:
        raise MappingError(f"unknown mapping key(s): {', '.join(sorted(unknown))}")
    target = TARGETS.get(raw.get("target", ""))
    if target is None:
        raise MappingError(f"target must be one of {', '.join(TARGETS)} (got {raw.get('target')!r})")
    ext = raw.get("external_id")
    prefix = ""
    if isinstance(ext, dict):
        prefix, ext = str(ext.get("prefix", "")), ext.get("from")
    if not isinstance(ext, str) or not ext:
        raise MappingError("external_id must name a source field (or '$fid' for the feature's position)")
    fields = raw.get("fields") or {}
    if not isinstance(fields, dict):
        raise MappingError("fields must be a table of registry field -> source")
    rules = {name: _rule(target, name, spec) for name, spec in fields.items()}
    missing = [f for f in target.required if f not in rules and f not in target.defaults]
    if missing:
        raise MappingError(f"{target.name} needs field(s): {', '.join(missing)}")
    attributes = raw.get("attributes", "all")
    if isinstance(attributes, list):
        attributes = tuple(str(a) for a in attributes)
    elif attributes not in ("all", "none"):
        raise MappingError("attributes must be 'all', 'none' or a list of source fields")
    source = raw.get("source") or {}
    if not isinstance(source, dict):
        raise MappingError("source must be a table (layer, crs, x, y, wkt)")
    unknown = set(source) - {"layer", "crs", "x", "y", "wkt"}
    if unknown:
        raise MappingError(f"unknown source option(s): {', '.join(sorted(unknown))}")
    if ("x" in source) != ("y" in source):
        raise MappingError("source: give both x and y columns, or neither")
    return Mapping(
        target=target,
        external_id=ext,
        external_id_prefix=prefix,
        rules=rules,
        attributes=attributes,
        layer=source.get("layer"),
        crs=str(source["crs"]) if source.get("crs") is not None else None,
        csv_x=source.get("x"),
        csv_y=source.get("y"),
        csv_wkt=source.get("wkt"),
        raw=raw,
    )
