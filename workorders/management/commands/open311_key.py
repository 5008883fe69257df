"""manage.py open311_key: create, list and revoke Open311 API keys (the key is shown once)."""

from django.core.management.base import BaseCommand, CommandError

from workorders import services
from workorders.models import ApiKey


class Command(BaseCommand):
    help = "Manage Open311 API keys: create NAME, list, revoke PREFIX."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a new key; printed once, only its hash is stored")
        create.add_argument("name", help="who holds it, e.g. 'City website'")
        create.add_argument("--rate-per-minute", type=int, default=None)
        sub.add_parser("list", help="keys with their prefix and state")
        revoke = sub.add_parser("revoke", help="stop a key from posting")
        revoke.add_argument("prefix", help="the key's first characters (see list)")

    def handle(self, *args, action, **options):
        if action == "create":
            record, key = services.api_key_create(name=options["name"], rate_per_minute=options["rate_per_minute"])
            self.stdout.write(f"API key for {record.name}: {key}")
            self.stdout.write("Keep it now: only its hash is stored.")
        elif action == "list":
            for record in ApiKey.objects.order_by("created_at"):
                state = "active" if record.active else "revoked"
                self.stdout.write(f"{record.prefix}…  {state:8}  {record.name}  (created {record.created_at:%Y-%m-%d})")
        else:
            matches = list(ApiKey.objects.filter(prefix__startswith=options["prefix"], active=True))
            if len(matches) != 1:
                raise CommandError(f"{len(matches)} active keys start with {options['prefix']!r}; give one exactly")
            services.api_key_revoke(api_key=matches[0])
            self.stdout.write(f"revoked {matches[0]}")
