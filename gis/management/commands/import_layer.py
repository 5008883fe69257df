"""manage.py import_layer FILE --mapping MAPPING: import a GIS file into the registry."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gis import selectors, services
from gis.importing.mapping import MappingError, load_mapping
from gis.importing.pipeline import ImportResult
from gis.importing.reader import SourceError

SHOWN_REJECTS = 50


class Command(BaseCommand):
    help = (
        "Import GeoJSON, GeoPackage, Shapefile or CSV (lon/lat or WKT columns) into the registry, "
        "upserting by external id. The mapping file (YAML/JSON) says which fields go where."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="file to import (.geojson, .gpkg, .shp, .csv, …)")
        parser.add_argument("--mapping", required=True, help="mapping file (YAML or JSON)")
        parser.add_argument("--background", action="store_true", help="queue it for a Celery worker")
        parser.add_argument(
            "--skip-unchanged", action="store_true",
            help="do nothing when this file and mapping were already imported successfully",
        )

    def handle(self, *args, path, mapping, background, skip_unchanged, **options):
        try:
            parsed = load_mapping(mapping)
            run = services.import_run_create(path=path, mapping=parsed)
        except (MappingError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        if skip_unchanged:
            previous = selectors.import_run_latest_succeeded(fingerprint=run.fingerprint)
            if previous is not None:
                run.delete()
                self.stdout.write(f"{run.source_name}: unchanged since import run #{previous.pk}; skipped")
                return
        if background:
            from gis.tasks import import_run_execute_task

            import_run_execute_task.delay_on_commit(import_run_id=run.pk)
            self.stdout.write(f"queued import run #{run.pk} for {run.source_name}")
            return
        result = run_with_progress(run, self)
        self.report(run, result)

    def report(self, run, result: ImportResult) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"{run.source_name}: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.rejected} rejected (import run #{run.pk})"
            )
        )
        for reject in result.rejects[:SHOWN_REJECTS]:
            self.stdout.write(self.style.WARNING(f"  rejected row {reject.row}: {reject.reason}"))
        if result.rejected > SHOWN_REJECTS:
            self.stdout.write(f"  … {result.rejected - SHOWN_REJECTS} more, stored on import run #{run.pk}")


def run_with_progress(run, command: BaseCommand) -> ImportResult:
    """Execute ``run`` with a progress bar (counts, rate); CommandError if the file is unusable."""
    with tqdm(desc=run.source_name, unit=" features", unit_scale=True, file=command.stderr._out,
              dynamic_ncols=True, mininterval=0.5) as bar:
        try:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done)

            return services.import_run_execute(import_run=run, progress=progress)
        except (SourceError, MappingError) as exc:
            raise CommandError(f"{exc} (nothing was imported)") from exc
