"""WSGI entry point (gunicorn fieldsvc.wsgi:application): Django behind the cached-tile fast path."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fieldsvc.settings")
django_application = get_wsgi_application()

from tiles.fastpath import TileFastPath  # noqa: E402 (needs the apps get_wsgi_application set up)

application = TileFastPath(django_application)
