"""The only place that names PostGIS operations used through the ORM (lookups, expressions)."""

from django.contrib.gis.db.models import GeometryField
from django.db import connection
from django.db.models import BooleanField, Q, Transform


@GeometryField.register_lookup
class IsEmpty(Transform):
    """``geom__isempty=False``: PostGIS ST_IsEmpty, usable in CheckConstraints."""

    lookup_name = "isempty"
    function = "ST_IsEmpty"
    output_field = BooleanField()


def valid_nonempty_geometry(field: str) -> Q:
    """CHECK condition: the geometry is OGC-valid (ST_IsValid) and not empty (ST_IsEmpty)."""
    return Q(**{f"{field}__isvalid": True, f"{field}__isempty": False})


def postgis_version() -> str:
    """The PostGIS library version of the connected database, e.g. '3.3.2'."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT PostGIS_Lib_Version()")
        return cursor.fetchone()[0]
