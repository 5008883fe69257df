"""manage.py load_demo: seed departments/asset types and import every layer in fixtures/demo.yaml."""

from pathlib import Path

import yaml
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from gis import services


class Command(BaseCommand):
    help = "Load the Boston-area demo registry from fixtures/ (skips files already imported)."

    def add_arguments(self, parser):
        parser.add_argument("--fixtures", default=str(settings.BASE_DIR / "fixtures"))

    def handle(self, *args, fixtures, **options):
        root = Path(fixtures)
        try:
            plan = yaml.safe_load((root / "demo.yaml").read_text())
            registry = yaml.safe_load((root / plan["registry"]).read_text())
        except (OSError, KeyError, yaml.YAMLError) as exc:
            raise CommandError(f"cannot read {root / 'demo.yaml'}: {exc}") from exc
        departments, types = services.registry_seed(
            departments=registry["departments"], asset_types=registry["asset_types"]
        )
        self.stdout.write(f"registry: {departments} departments, {types} asset types")
        for layer in plan["layers"]:
            call_command(
                "import_layer", str(root / layer["file"]), mapping=str(root / layer["mapping"]),
                skip_unchanged=True, stdout=self.stdout, stderr=self.stderr,
            )
