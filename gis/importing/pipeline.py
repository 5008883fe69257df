"""Runs one import: open the file, check rows batch by batch, stage, mend and upsert in one transaction."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from gis.importing.mapping import Mapping
from gis.importing.reader import open_source, read_batches
from gis.importing.rows import Reject, RowContext, prepare_batch
from gis.importing.targets import column_for
from gis.models import AssetType, Department, GeometryKind
from gis.spatial import staging

Progress = Callable[[int, int], None]  # (features just processed, features in the file)

# Hex EWKB header of a little-endian 2D Point with an SRID (byte order 01, type 0x20000001).
_EWKB_POINT = "0101000020"

_MODELS = {
    "asset": "registry.Asset",
    "utility_line": "registry.UtilityLine",
    "utility_structure": "registry.UtilityStructure",
    "district": "registry.District",
}


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    mended: int = 0
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)


def file_fingerprint(path: str | Path, mapping: Mapping) -> str:
    """sha256 of the file (with a shapefile's sidecars) and of the mapping."""
    path = Path(path)
    digest = hashlib.sha256(repr(sorted(mapping.raw.items())).encode())
    parts = [path]
    if path.suffix.lower() == ".shp":
        parts = sorted(p for p in path.parent.glob(path.stem + ".*") if p.is_file())
    for part in parts:
        digest.update(part.name.encode())
        with part.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _context(mapping: Mapping, source) -> RowContext:
    target = mapping.target
    model = apps.get_model(_MODELS[target.name])
    field_names = [*target.key_fields, *[f for f in target.fields if f not in target.key_fields]]
    field_names = [f for f in field_names if f in mapping.rules or f in target.defaults]
    max_length = {
        f: model._meta.get_field(f).max_length
        for f in field_names
        if getattr(model._meta.get_field(f), "max_length", None)
    }
    used = mapping.source_fields()
    if mapping.attributes == "all":
        attribute_names = [f for f in source.field_names if f not in used]
    elif mapping.attributes == "none":
        attribute_names = []
    else:
        attribute_names = list(mapping.attributes)
    types = AssetType.objects.values_list("code", "id", "geometry_kind")
    return RowContext(
        mapping=mapping,
        source_crs=source.crs,
        field_names=field_names,
        attribute_names=attribute_names,
        lookups={
            "department": dict(Department.objects.values_list("code", "id")),
            "asset_type": {code: pk for code, pk, _ in types},
        },
        max_length={**max_length, "external_id": 120},
        asset_type_kinds={pk: kind for _, pk, kind in types},
    )


def import_file(*, path: str | Path, mapping: Mapping, progress: Progress | None = None) -> ImportResult:
    """Import every good row of ``path``; bad rows come back as rejects, the rest is committed.

    Raises SourceError (file unreadable) or MappingError before anything is written; any error
    part-way rolls the whole import back.
    """
    source = open_source(path, mapping)
    ctx = _context(mapping, source)
    target = mapping.target
    columns = [column_for(f) for f in ctx.field_names]
    key_columns = [column_for(f) for f in target.key_fields]
    value_columns = [c for c in columns if c not in key_columns]
    read_columns = sorted(mapping.source_fields() | set(ctx.attribute_names))
    result = ImportResult(total=source.feature_count)
    if progress:
        progress(0, source.feature_count)
    with transaction.atomic(), connection.cursor() as cursor:
        pg = cursor.cursor  # the psycopg cursor: COPY is not in Django's cursor API
        staging.stage_create(pg, columns=list(zip(columns, [target.fields[f] for f in ctx.field_names],
                                                  strict=True)))
        batch_rows = settings.FIELDSVC_IMPORT_BATCH_ROWS
        for batch in read_batches(source, columns=read_columns, batch_size=batch_rows):
            rows, rejects = prepare_batch(batch, ctx)
            result.rejects.extend(rejects)
            if rows:
                staging.stage_load(pg, column_names=columns, rows=rows)
                # Points without NaN (rejected already) are always valid: skip the ST_IsValid pass.
                only_points = all(row[-2].startswith(_EWKB_POINT) for row in rows)
                unmendable = [] if only_points else staging.stage_mend(
                    pg, single_lines=target.geometry_kind == GeometryKind.LINE
                )
                result.rejects.extend(
                    Reject(row=row_no, reason=f"invalid geometry that ST_MakeValid cannot mend ({why})")
                    for row_no, why in unmendable
                )
                counts = staging.stage_upsert(
                    pg, table=target.table, constraint=target.conflict_constraint,
                    key_columns=key_columns, value_columns=value_columns,
                    multi_polygon=target.geometry_kind == GeometryKind.POLYGON,
                )
                result.created += counts.created
                result.updated += counts.updated
                result.unchanged += len(rows) - len(unmendable) - counts.created - counts.updated
            if progress:
                progress(len(batch.geoms), source.feature_count)
    result.rejects.sort(key=lambda r: r.row)
    result.total = max(result.total, result.created + result.updated + result.unchanged + result.rejected)
    return result
