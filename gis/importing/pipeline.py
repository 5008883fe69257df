"""Runs one import: open the file, check rows batch by batch, stage, mend and merge in one transaction."""

import hashlib
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from gis.importing.encode import csv_bytes
from gis.importing.fields import constant_value
from gis.importing.mapping import Mapping
from gis.importing.reader import open_source, read_batches
from gis.importing.rows import PreparedBatch, Reject, RowContext, prepare_batch
from gis.importing.targets import column_for
from gis.importing.writer import BackgroundWriter
from gis.models import AssetType, Department, GeometryKind
from gis.spatial import bulkload, staging

Progress = Callable[[int, int], None]  # (features just processed, features in the file)

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
    bulk: bool = False
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


def _constant_key(ctx: RowContext) -> dict[str, object] | None:
    """The natural-key columns' values when the mapping fixes them for every row (usual: one layer,
    one asset type), else None."""
    key = {}
    for name in ctx.mapping.target.key_fields:
        constant = constant_value(name, ctx)
        if constant is None:
            return None
        key[column_for(name)] = constant
    return key


@dataclass
class _Loaded:
    """What the writer thread loaded straight into the registry (fresh namespace only)."""

    created: int = 0
    unmendable: list[tuple[int, str]] = field(default_factory=list)


def import_file(*, path: str | Path, mapping: Mapping, progress: Progress | None = None) -> ImportResult:
    """Import every good row of ``path``; bad rows come back as rejects, the rest is committed.

    Raises SourceError (file unreadable) or MappingError before anything is written; any error
    part-way rolls the whole import back.

    Two ways in, one transaction each. When the mapping fixes the natural key's namespace (say,
    asset type "hydrant") and the registry has nothing in it yet, every row is new: each batch goes
    straight from the stage into the registry as it arrives. Otherwise the whole file is staged
    first and merged at the end (changed rows updated, new ones inserted, identical ones left).
    """
    source = open_source(path, mapping)
    ctx = _context(mapping, source)
    target = mapping.target
    columns = [column_for(f) for f in ctx.field_names]
    key_columns = [column_for(f) for f in target.key_fields]
    value_columns = [c for c in columns if c not in key_columns]
    table = dict(table=target.table, key_columns=key_columns, value_columns=value_columns,
                 multi_polygon=target.geometry_kind == GeometryKind.POLYGON)
    single_lines = target.geometry_kind == GeometryKind.LINE
    read_columns = sorted(mapping.source_fields() | set(ctx.attribute_names))
    result = ImportResult(total=source.feature_count)
    if progress:
        progress(0, source.feature_count)
    with transaction.atomic(), connection.cursor() as cursor:
        pg = cursor.cursor  # the psycopg cursor: COPY is not in Django's cursor API
        staging.stage_create(pg, columns=list(zip(columns, [target.fields[f] for f in ctx.field_names],
                                                  strict=True)))
        staging.import_lock(pg, table=target.table)
        key = _constant_key(ctx)
        fresh = key is not None and staging.namespace_is_empty(pg, table=target.table, key=key)
        bulk = fresh and staging.bulk_wanted(pg, table=target.table, new_rows=source.feature_count,
                                             min_rows=settings.FIELDSVC_IMPORT_BULK_MIN_ROWS)
        job_cursor = pg.connection.cursor()
        loaded = _Loaded()
        direct_columns = ["external_id", *columns, "geom", "attributes"]

        def job_for(prepared: PreparedBatch) -> Callable[[], None]:
            """Encode the batch here; the returned job writes it on the writer thread."""
            if fresh and prepared.only_points and not table["multi_polygon"]:
                # New points need neither mending nor matching: straight into the registry.
                csv = csv_bytes(prepared.table.select(direct_columns))

                def copy_in() -> None:
                    loaded.created += staging.copy_rows(job_cursor, table=target.table, column_names=direct_columns,
                                                        csv=csv)
                return copy_in
            csv = csv_bytes(prepared.table)

            def stage() -> None:
                staging.stage_copy(job_cursor, column_names=columns, csv=csv)
                if fresh:
                    if not prepared.only_points:
                        loaded.unmendable.extend(staging.stage_mend(job_cursor, single_lines=single_lines))
                    loaded.created += staging.stage_insert_all(job_cursor, **table)
            return stage

        with bulkload.indexes_suspended(pg, table=target.table) if bulk else nullcontext():
            staged, only_points = _stage_file(source, ctx, read_columns, job_for, result, progress)
        if fresh:
            unmendable, counts = loaded.unmendable, staging.MergeCounts(created=loaded.created, bulk=bulk)
        else:
            staging.stage_analyze(pg, key_columns=key_columns)
            unmendable = [] if only_points else staging.stage_mend(pg, single_lines=single_lines)
            counts = staging.stage_merge(pg, **table, bulk_min_rows=settings.FIELDSVC_IMPORT_BULK_MIN_ROWS)
    result.rejects.extend(
        Reject(row=row_no, reason=f"invalid geometry that ST_MakeValid cannot mend ({why})")
        for row_no, why in unmendable
    )
    result.created, result.updated, result.bulk = counts.created, counts.updated, counts.bulk
    result.unchanged = staged - len(unmendable) - counts.created - counts.updated
    result.rejects.sort(key=lambda r: r.row)
    result.total = max(result.total, result.created + result.updated + result.unchanged + result.rejected)
    return result


def _stage_file(source, ctx, read_columns, job_for, result, progress) -> tuple[int, bool]:
    """Read, check and encode every batch; its job (from ``job_for``) runs on the writer thread.

    Returns (rows handed on, whether they were all points); rejects go to ``result``.
    """
    writer = BackgroundWriter()
    staged, only_points = 0, True
    try:
        for batch in read_batches(source, columns=read_columns, batch_size=settings.FIELDSVC_IMPORT_BATCH_ROWS):
            prepared = prepare_batch(batch, ctx)
            result.rejects.extend(prepared.rejects)
            if prepared.table.num_rows:
                writer.submit(job_for(prepared))
                staged += prepared.table.num_rows
                only_points = only_points and prepared.only_points
            if progress:
                progress(batch.rows, source.feature_count)
    except BaseException:
        writer.close(reraise=False)  # the database work must end before the rollback; the first error wins
        raise
    writer.close()
    return staged, only_points
