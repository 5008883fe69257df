"""Celery tasks for the registry: thin wrappers around gis.services."""

from celery import shared_task

from gis.models import ImportRun


@shared_task
def import_run_execute_task(*, import_run_id: int) -> str:
    from gis.importing.mapping import MappingError
    from gis.importing.reader import SourceError
    from gis.services import import_run_execute

    run = ImportRun.objects.get(pk=import_run_id)
    try:
        import_run_execute(import_run=run)
    except (SourceError, MappingError):
        pass  # recorded on the run as 'failed' with the reason; retrying cannot help
    run.refresh_from_db()
    return run.status


@shared_task
def import_run_requeue_stalled_task() -> int:
    from gis.services import import_run_requeue_stalled

    ids = import_run_requeue_stalled()
    for pk in ids:
        import_run_execute_task.delay(import_run_id=pk)
    return len(ids)
