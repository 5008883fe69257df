"""Bench helpers: set Django up from a bench script, the stack database's URL, answers a resident would give."""

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


def service_answers(conn) -> dict[str, dict[str, str]]:
    """A valid answer to every required question of every service (Open311 form fields), from a psycopg
    connection to the bench's database."""
    answers: dict[str, dict[str, str]] = {}
    samples = {"string": "by the corner", "text": "seen this morning", "number": "2",
               "datetime": "2026-05-01T08:00:00-04:00"}
    for code, attribute, datatype, values in conn.execute(
        "SELECT s.code, a.code, a.datatype, a.values FROM workorders_serviceattribute a "
        "JOIN workorders_service s ON s.id = a.service_id WHERE a.required AND a.variable"
    ):
        value = values[0]["key"] if datatype.endswith("valuelist") else samples[datatype]
        name = f"attribute[{attribute}][]" if datatype == "multivaluelist" else f"attribute[{attribute}]"
        answers.setdefault(code, {})[name] = value
    return answers
