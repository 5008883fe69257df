"""Spatial filters and orderings for any model's queryset (workorders uses them on its own tables)."""

from django.contrib.gis.db.models.functions import Distance, GeometryDistance
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db.models import FloatField, Func, QuerySet


def at_point(queryset: QuerySet, point: GEOSGeometry, *, field: str = "geom") -> QuerySet:
    """Rows whose area holds the point (ST_Intersects, GiST index on ``field``)."""
    return queryset.filter(**{f"{field}__intersects": point})


def within_radius(queryset: QuerySet, point: GEOSGeometry, radius_m: float, *, field: str = "geom") -> QuerySet:
    """Rows within ``radius_m`` of the point: ST_DWithin in the metre storage CRS uses the GiST index."""
    return queryset.filter(**{f"{field}__dwithin": (point, radius_m)})


def in_box(queryset: QuerySet, box: Polygon, *, field: str = "geom") -> QuerySet:
    """Rows inside a storage-CRS box (the && operator then an exact test, GiST index)."""
    return queryset.filter(**{f"{field}__intersects": box})


def nearest_first(queryset: QuerySet, point: GEOSGeometry, *, field: str = "geom") -> QuerySet:
    """Ordered by distance with the KNN operator <-> (GiST index)."""
    return queryset.order_by(GeometryDistance(field, point))


def with_distance(queryset: QuerySet, point: GEOSGeometry, *, field: str = "geom") -> QuerySet:
    """``distance_m`` (ST_Distance in the metre storage CRS) annotated."""
    return queryset.annotate(distance_m=Distance(field, point))


class _X(Func):
    function = "ST_X"
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


def with_xy(queryset: QuerySet, *, field: str = "geom") -> QuerySet:
    """A point's storage-CRS ``x`` and ``y`` as plain numbers (no geometry object built per row)."""
    return queryset.annotate(x=_X(field), y=_Y(field))
