"""manage.py load_catalogue [FILE]: load or update the Open311 service catalogue from YAML."""

from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workorders import services

DEFAULT = Path(settings.BASE_DIR) / "fixtures" / "catalogue" / "services.yaml"


class Command(BaseCommand):
    help = "Create or update service groups, services and their questions (re-loading is harmless)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT))

    def handle(self, *args, path, **options):
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            count = services.catalogue_load(data=data)
        except (OSError, yaml.YAMLError, KeyError, ValueError) as exc:
            raise CommandError(f"cannot load the catalogue {path}: {exc}") from exc
        self.stdout.write(f"catalogue: {count} services")
