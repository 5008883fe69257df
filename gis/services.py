"""Writes to the spatial registry: import runs (record, execute, requeue) and registry seeding."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gis import signals
from gis.importing.mapping import Mapping, MappingError, parse_mapping
from gis.importing.pipeline import ImportResult, Progress, file_fingerprint, import_file
from gis.importing.reader import SourceError
from gis.importing.targets import TARGETS
from gis.models import AssetType, Department, ImportRun, ImportStatus


def import_run_create(*, path: str | Path, mapping: Mapping) -> ImportRun:
    """Record an import to be run (by a worker or right away); nothing is read yet but the hash."""
    path = Path(path).resolve()
    run = ImportRun(
        source_name=path.name,
        source_path=str(path),
        fingerprint=file_fingerprint(path, mapping),
        mapping=mapping.raw,
        target=mapping.target.name,
    )
    run.save()
    return run


def _finish(run: ImportRun, *, result: ImportResult | None, error: str = "") -> ImportRun:
    run.finished_at = timezone.now()
    if result is None:
        run.status, run.error = ImportStatus.FAILED, error
    else:
        run.status = ImportStatus.SUCCEEDED
        run.created, run.updated, run.unchanged = result.created, result.updated, result.unchanged
        run.rejected = result.rejected
        limit = settings.FIELDSVC_IMPORT_MAX_STORED_REJECTS
        run.rejects = [r.as_dict() for r in result.rejects[:limit]]
    run.save()
    return run


def import_run_execute(*, import_run: ImportRun, progress: Progress | None = None) -> ImportResult | None:
    """Run a recorded import. Idempotent: a run that already finished is left as it is.

    A file or mapping that cannot be used fails the run with the reason; the registry is unchanged.
    """
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=import_run.pk)
        if run.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
            return None
        run.status, run.started_at = ImportStatus.RUNNING, timezone.now()
        run.save(update_fields=["status", "started_at"])
    try:
        result = import_file(path=run.source_path, mapping=parse_mapping(run.mapping), progress=progress)
    except (SourceError, MappingError) as exc:
        _finish(run, result=None, error=str(exc))
        raise
    except Exception as exc:  # the import rolled back; record why before the caller sees it
        _finish(run, result=None, error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(run, result=result)
    if result.created or result.updated:
        target = TARGETS[run.target]
        if target.name != "district":  # requests near changed assets and utilities are re-linked
            with transaction.atomic():
                signals.import_finished(table=target.table, started_at=run.started_at)
    import_run.refresh_from_db()
    return result


def import_run_requeue_stalled() -> list[int]:
    """Ids of runs still queued after FIELDSVC_IMPORT_REQUEUE_AFTER_S, to be sent to a worker again."""
    cutoff = timezone.now() - timedelta(seconds=settings.FIELDSVC_IMPORT_REQUEUE_AFTER_S)
    return list(
        ImportRun.objects.filter(status=ImportStatus.QUEUED, queued_at__lt=cutoff).values_list("pk", flat=True)
    )


@transaction.atomic
def registry_seed(*, departments: list[dict], asset_types: list[dict]) -> tuple[int, int]:
    """Create or update departments and asset types from plain dicts (fixtures/registry.yaml)."""
    for dept in departments:
        Department.objects.update_or_create(code=dept["code"], defaults={k: v for k, v in dept.items() if k != "code"})
    for atype in asset_types:
        values = {k: v for k, v in atype.items() if k not in ("code", "department")}
        values["department"] = Department.objects.get(code=atype["department"])
        AssetType.objects.update_or_create(code=atype["code"], defaults=values)
    return len(departments), len(asset_types)
