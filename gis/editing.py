"""Services: validated, audited edits of assets and utility features (WFS-T), all or nothing.

Values are checked by the importer's own converters and geometries by its rules (the kind the layer
takes, one part, valid, not empty, inside the storage CRS's area). Saving goes through the models, so
gis.signals announces the changed places after commit: open requests near them are re-linked and the
vector tiles they touch are dropped from the cache.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Model, ProtectedError

from gis import crs
from gis.audit.services import audit_record
from gis.importing.convert import ValueRejected, convert_value, is_blank
from gis.importing.mapping import FieldRule
from gis.models import Asset, AssetType, EditAction, EditRecord, GeometryKind, UtilityLine, UtilityStructure

ASSET_FIELDS = {"external_id": "text", "status": "status", "condition": "condition", "install_date": "date"}
UTILITY_LINE_FIELDS = {"external_id": "text", "kind": "network_kind", "line_type": "code", "material": "text",
                       "diameter_mm": "int", "depth_m": "float", "install_year": "year", "owner": "text",
                       "status": "status"}
UTILITY_STRUCTURE_FIELDS = {"external_id": "text", "kind": "network_kind", "structure_type": "code",
                            "depth_m": "float", "owner": "text", "status": "status"}
READ_ONLY = frozenset({"id", "created_at", "updated_at"})
_GEOMETRY_TYPES = {GeometryKind.POINT: "Point", GeometryKind.LINE: "LineString", GeometryKind.POLYGON: "Polygon"}
_MULTI = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}


class EditRejected(Exception):
    """An edit that cannot be made; the whole transaction is rolled back. ``locator``: the feature or handle."""

    def __init__(self, message: str, *, locator: str = "", code: str = "InvalidParameterValue"):
        super().__init__(message)
        self.locator = locator
        self.code = code


class EditForbidden(EditRejected):
    """The user may not make this kind of edit."""


@dataclass(frozen=True)
class EditTarget:
    """One editable feature type: its model, editable fields (name -> importer field type) and geometry kind."""

    feature_type: str
    model: type[Model]
    fields: dict[str, str]
    geometry_kind: str
    fixed: dict[str, Any] = field(default_factory=dict)  # set on insert and required to match (asset type)
    required: tuple[str, ...] = ()  # must have a value on insert

    def queryset(self):
        return self.model.objects.filter(**self.fixed)


@dataclass
class Edit:
    action: str  # EditAction
    target: EditTarget
    values: dict[str, Any] = field(default_factory=dict)  # raw values as sent
    geometry: shapely.Geometry | None = None  # storage CRS
    geometry_given: bool = False
    ids: list[int] = field(default_factory=list)  # update/delete: the features it applies to
    handle: str = ""


@dataclass
class EditResult:
    transaction_id: uuid.UUID
    inserted: list[tuple[EditTarget, int, str]] = field(default_factory=list)  # target, id, handle
    updated: int = 0
    deleted: int = 0


def edit_targets(*, asset_type_name) -> dict[str, EditTarget]:
    """Every editable feature type by name; ``asset_type_name(code)`` names an asset type's feature type."""
    targets = {
        asset_type_name(kind.code): EditTarget(asset_type_name(kind.code), Asset, ASSET_FIELDS, kind.geometry_kind,
                                               fixed={"asset_type_id": kind.id})
        for kind in AssetType.objects.all()
    }
    targets["utility_line"] = EditTarget("utility_line", UtilityLine, UTILITY_LINE_FIELDS, GeometryKind.LINE,
                                         required=("kind",))
    targets["utility_structure"] = EditTarget("utility_structure", UtilityStructure, UTILITY_STRUCTURE_FIELDS,
                                              GeometryKind.POINT, required=("kind", "structure_type"))
    return targets


GIS_EDITORS = "GIS editors"


def gis_editors_group():
    """The GIS-editor role: a group that may add, change and delete assets and utility features.
    Made by migration 0004; this puts it back if it was removed (a flushed database)."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=GIS_EDITORS)
    models = [m._meta.model_name for m in (Asset, UtilityLine, UtilityStructure)]
    group.permissions.add(*Permission.objects.filter(
        content_type__app_label="registry",
        codename__in=[f"{verb}_{model}" for model in models for verb in ("add", "change", "delete", "view")]))
    return group


def may_edit(user, target: EditTarget, action: str) -> bool:
    verb = {EditAction.INSERT: "add", EditAction.UPDATE: "change", EditAction.DELETE: "delete"}[action]
    return user.is_active and user.has_perm(f"registry.{verb}_{target.model._meta.model_name}")


def user_may_edit_any(user) -> bool:
    """The GIS-editor role (or a superuser): offered WFS-T at all."""
    return user.is_authenticated and any(
        user.has_perm(f"registry.{verb}_{model._meta.model_name}")
        for model in (Asset, UtilityLine, UtilityStructure) for verb in ("add", "change", "delete"))


def feature_edits_apply(*, user, edits: list[Edit]) -> EditResult:
    """Apply every edit or none; each changed feature gets an EditRecord. Raises EditRejected/EditForbidden."""
    result = EditResult(transaction_id=uuid.uuid4())
    for edit in edits:
        if not may_edit(user, edit.target, edit.action):
            raise EditForbidden(f"you may not {edit.action} {edit.target.feature_type} features "
                                "(the GIS editors group may)", locator=edit.handle or edit.target.feature_type,
                                code="OperationProcessingFailed")
    try:
        with transaction.atomic():
            for edit in edits:
                _apply(edit, user=user, result=result)
    except (IntegrityError, DataError) as exc:  # a key, check or range the checks above could not see coming
        raise EditRejected(f"the database refused the edit: {str(exc).splitlines()[0]}",
                           code="OperationProcessingFailed") from exc
    return result


def _apply(edit: Edit, *, user, result: EditResult) -> None:
    target = edit.target
    if edit.action == EditAction.INSERT:
        row = target.model(**target.fixed)
        values = _converted(edit, inserting=True)
        for name, value in values.items():
            setattr(row, name, value)
        for name in target.required:
            if is_blank(getattr(row, name)):
                raise EditRejected(f"{target.feature_type}: {name} is required", locator=edit.handle or name)
        if is_blank(row.external_id):
            row.external_id = f"wfs-{uuid.uuid4().hex[:12]}"
        row.geom = _checked_geometry(edit)
        _save(row, edit)
        result.inserted.append((target, row.pk, edit.handle))
        _record(user, result, edit, row.pk, before=None, after=_snapshot(row, target))
        return
    rows = {row.pk: row for row in target.queryset().select_for_update().filter(pk__in=edit.ids)}
    missing = [pk for pk in edit.ids if pk not in rows]
    if missing:
        raise EditRejected(f"no {target.feature_type} feature with id {missing[0]}",
                           locator=f"{target.feature_type}.{missing[0]}")
    if edit.action == EditAction.DELETE:
        for pk in edit.ids:
            before = _snapshot(rows[pk], target)
            try:
                rows[pk].delete()
            except ProtectedError as exc:
                raise EditRejected(f"{target.feature_type}.{pk} is still referenced and cannot be deleted",
                                   locator=f"{target.feature_type}.{pk}") from exc
            result.deleted += 1
            _record(user, result, edit, pk, before=before, after=None)
        return
    values = _converted(edit, inserting=False)
    geometry = _checked_geometry(edit) if edit.geometry_given else None
    for pk in edit.ids:
        row = rows[pk]
        before = _snapshot(row, target)
        for name, value in values.items():
            setattr(row, name, value)
        if geometry is not None:
            row.geom = geometry
        _save(row, edit)
        result.updated += 1
        _record(user, result, edit, pk, before=before, after=_snapshot(row, target))


def _converted(edit: Edit, *, inserting: bool) -> dict[str, Any]:
    target, values = edit.target, {}
    for name, raw in edit.values.items():
        if name in READ_ONLY:
            if inserting or is_blank(raw):
                continue  # clients send the read-only columns they were given; the server sets them
            raise EditRejected(f"{target.feature_type}: {name} is read-only", locator=edit.handle or name)
        field_type = target.fields.get(name)
        if field_type is None:
            raise EditRejected(f"{target.feature_type} has no editable property {name!r} "
                               f"(editable: {', '.join(target.fields)})", locator=edit.handle or name)
        try:
            value = convert_value(FieldRule(target=name, source=name), field_type, raw, {})
        except ValueRejected as exc:
            raise EditRejected(f"{target.feature_type}: {name}: {exc}", locator=edit.handle or name) from exc
        model_field = target.model._meta.get_field(name)
        if value is not None:
            try:  # the column's range and length (psycopg would wrap an over-large int silently)
                model_field.run_validators(value)
            except ValidationError as exc:
                raise EditRejected(f"{target.feature_type}: {name}: {' '.join(exc.messages)}",
                                   locator=edit.handle or name) from exc
        if value is None:
            if not model_field.null:
                if name in ("status", "external_id", "kind", "structure_type") and not inserting:
                    raise EditRejected(f"{target.feature_type}: {name} cannot be empty", locator=edit.handle or name)
                value = "" if name not in ("status",) else model_field.default
        values[name] = value
    return values


def _checked_geometry(edit: Edit) -> GEOSGeometry:
    """The edit's geometry as the layer stores it, or EditRejected saying what is wrong with it."""
    geom, target = edit.geometry, edit.target
    where = edit.handle or target.feature_type
    if geom is None or shapely.is_missing(geom):
        raise EditRejected(f"{target.feature_type}: a geometry is required", locator=where)
    if shapely.is_empty(geom):
        raise EditRejected(f"{target.feature_type}: empty geometry", locator=where)
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise EditRejected(f"{target.feature_type}: the geometry has coordinates outside the valid area of its CRS",
                           locator=where)
    want = _GEOMETRY_TYPES[target.geometry_kind]
    if geom.geom_type in _MULTI and _MULTI[geom.geom_type] == want and shapely.get_num_geometries(geom) == 1:
        geom = shapely.get_geometry(geom, 0)  # QGIS sends a one-part multi for a layer it thinks is multi
    if geom.geom_type != want and not (want == "Polygon" and geom.geom_type == "MultiPolygon"):
        raise EditRejected(f"{target.feature_type}: the geometry is a {geom.geom_type}; this layer takes "
                           f"{target.geometry_kind}s", locator=where)
    if not shapely.is_valid(geom):
        raise EditRejected(f"{target.feature_type}: invalid geometry ({shapely.is_valid_reason(geom)})",
                           locator=where)
    minx, miny, maxx, maxy = shapely.bounds(geom)
    if not (crs.in_storage_area(minx, miny) and crs.in_storage_area(maxx, maxy)):
        raise EditRejected(f"{target.feature_type}: the geometry lies outside the valid area of the storage CRS "
                           f"({crs.storage_crs_name()})", locator=where)
    stored = GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=crs.storage_srid())
    model_field = target.model._meta.get_field("geom")
    if model_field.geom_type == "MULTIPOLYGON" and stored.geom_type == "Polygon":
        stored = MultiPolygon(stored, srid=stored.srid)
    return stored


def _save(row: Model, edit: Edit) -> None:
    target = edit.target
    clash = target.queryset().filter(external_id=row.external_id).exclude(pk=row.pk)
    if target.model is UtilityLine:
        clash = clash.filter(kind=row.kind, line_type=row.line_type)
    elif target.model is UtilityStructure:
        clash = clash.filter(kind=row.kind, structure_type=row.structure_type)
    if clash.exists():
        raise EditRejected(f"{target.feature_type}: external_id {row.external_id!r} is already taken",
                           locator=edit.handle or "external_id")
    try:
        with transaction.atomic():  # a savepoint: the error below is ours to report, not a broken transaction
            row.save()
    except (IntegrityError, DataError) as exc:
        raise EditRejected(f"{target.feature_type}: the database refused the feature "
                           f"({str(exc).splitlines()[0]})", locator=edit.handle or target.feature_type) from exc


def _snapshot(row: Model, target: EditTarget) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in target.fields}
    values = {name: value.isoformat() if hasattr(value, "isoformat") else value for name, value in values.items()}
    values["geom"] = row.geom.ewkt if row.geom is not None else None
    return values


def _record(user, result: EditResult, edit: Edit, object_id: int, *, before, after) -> None:
    EditRecord.objects.create(user=user if user.is_authenticated else None, username=user.get_username(),
                              transaction_id=result.transaction_id, handle=edit.handle[:200], action=edit.action,
                              feature_type=edit.target.feature_type, object_id=object_id, before=before, after=after)
    # The staff-wide audit log mirrors each edit record (geometries stay in the EditRecord, summarised here).
    audit_record(action=f"gis.{edit.action}", actor=user, object_type=edit.target.feature_type, object_id=object_id,
                 summary=f"WFS-T {edit.action} of {edit.target.feature_type} {object_id} ({result.transaction_id})",
                 before=_without_geometry(before), after=_without_geometry(after))


def _without_geometry(values: dict | None) -> dict | None:
    return None if values is None else {k: v for k, v in values.items() if k != "geom"}
