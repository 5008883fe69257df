"""fieldsvc: geospatial asset and field-service server for city 311 systems."""

from .celery import app as celery_app

__all__ = ["celery_app"]
