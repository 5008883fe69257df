"""Bench helper: set Django up from a bench script and give the stack database's URL."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main_database_url() -> str:
    """postgresql:// URL of the database the project's settings point at (the local stack by default)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fieldsvc.settings")
    import django

    django.setup()
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
