"""Models and migrations agree, and the migration takes the storage SRID from settings."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command


def test_no_missing_migrations(db):
    call_command("makemigrations", "registry", "--check", "--dry-run", verbosity=0)


def test_initial_migration_reads_the_storage_srid_setting():
    text = (Path(settings.BASE_DIR) / "gis" / "migrations" / "0001_initial.py").read_text()
    assert "srid=settings.FIELDSVC_STORAGE_SRID" in text
    assert "srid=26986" not in text
