"""manage.py ensure_demo_api_key: one Open311 API key for the local demo, kept in .stack/open311.key."""

from django.conf import settings
from django.core.management.base import BaseCommand

from workorders import services
from workorders.models import ApiKey


class Command(BaseCommand):
    help = "Create the demo's Open311 API key once (kept in .stack/open311.key) and print it."

    def handle(self, *args, **options):
        key_file = settings.BASE_DIR / ".stack" / "open311.key"
        if key_file.exists():
            key = key_file.read_text().strip()
            if ApiKey.objects.filter(key_sha256=services.api_key_hash(key), active=True).exists():
                self.stdout.write(f"demo Open311 API key: {key}")
                return
        _, key = services.api_key_create(name="Demo (make demo)")
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        self.stdout.write(f"demo Open311 API key: {key}")
