"""manage.py load_catalogue [FILE] [--rules FILE] [--field FILE]: load or update the service catalogue,
the routing rules, and field service (work calendars, SLA policies, crews)."""

from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workorders import field_setup, services

DEFAULT = Path(settings.BASE_DIR) / "fixtures" / "catalogue" / "services.yaml"
DEFAULT_RULES = Path(settings.BASE_DIR) / "fixtures" / "catalogue" / "routing_rules.yaml"
DEFAULT_FIELD = Path(settings.BASE_DIR) / "fixtures" / "catalogue" / "field_service.yaml"


class Command(BaseCommand):
    help = "Create or update service groups, services and their questions (re-loading is harmless)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT))
        parser.add_argument("--rules", default=str(DEFAULT_RULES), help="routing rules YAML ('' for none)")
        parser.add_argument("--field", default=str(DEFAULT_FIELD),
                            help="work calendars, SLA policies and crews YAML ('' for none)")

    def handle(self, *args, path, rules, field, **options):
        count = _load(path, services.catalogue_load, "the catalogue")
        self.stdout.write(f"catalogue: {count} services")
        if rules:
            self.stdout.write(f"routing rules: {_load(rules, services.routing_rules_load, 'the routing rules')}")
        if field:
            counts = _load(field, field_setup.field_service_load, "field service")
            self.stdout.write("field service: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


def _load(path: str, loader, what: str):
    """Read a YAML document and hand it to its loader; any failure is a CommandError naming the file."""
    try:
        return loader(data=yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, KeyError, ValueError, TypeError) as exc:
        raise CommandError(f"cannot load {what} {path}: {exc}") from exc
