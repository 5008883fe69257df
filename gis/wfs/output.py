"""GetFeature output: django-gisserver's DB GeoJSON renderer, fed plain rows instead of model instances.

The stock renderer takes 2.1 s for 100k points of which the query is 0.18 s: the rest is Python per
row, building a model instance, reading each property through its XSD element, and parsing timestamps
with Django's pure-Python psycopg loader (~5 us each) only to print them again (cProfile; figures from
bench/wfs_bench.py, where this renderer takes 0.6-0.8 s and ogr2ogr 0.9-1.2 s for the same rows).
When every property of the projection is a plain column (of the feature's table, or reached by
forward foreign keys, like ``service.code``), this renderer selects those columns with
``values_list()`` (timestamps printed by PostgreSQL as orjson prints a UTC datetime) and writes each
feature from its row in one orjson call; the bytes are those the stock renderer writes. Anything else
(to-many or nested properties, computed values, the name field) goes through the stock code.
Pagination, counting and streaming stay django-gisserver's.
"""

import orjson
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import CharField, Func
from django.utils.module_loading import import_string
from gisserver import conf
from gisserver.output import CollectionOutputRenderer, DBGeoJsonRenderer
from gisserver.output.geojson import _json_default
from gisserver.types import XsdElement

# PostgreSQL's to_char patterns for what orjson prints for a UTC datetime: no fraction when the
# microseconds are zero, else six digits (Python's isoformat).
_SECONDS = 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'
_MICROSECONDS = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'


def utc_iso_text(field: str) -> Func:
    """``field`` (a timestamptz) as the text orjson gives its value in UTC; NULL stays NULL."""
    return Func(
        models.F(field), output_field=CharField(),
        template=f"to_char(%(expressions)s AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', %(expressions)s) "
                 f"= %(expressions)s THEN '{_SECONDS}' ELSE '{_MICROSECONDS}' END)",
    )


def row_column(element: XsdElement, model: type[models.Model]) -> str | None:
    """The ``values_list()`` path of the column whose value the stock renderer prints for ``element`` as
    is: a plain field of the feature's model, or of a model its forward foreign keys lead to
    (``service.code``: NULL when the key is, as the stock getter gives); None for anything else."""
    field = element.source
    if (
        type(element) is not XsdElement
        or element.type.is_complex_type
        or not isinstance(field, models.Field)
        or not field.concrete
        or field.is_relation
        or field.value_from_object.__func__ is not models.Field.value_from_object
        or (isinstance(field, models.DateTimeField) and hasattr(field, "from_db_value"))
    ):
        return None
    *hops, name = element.model_attribute.split(".")
    for hop in hops:
        try:
            relation = model._meta.get_field(hop)
        except FieldDoesNotExist:
            return None
        if not (relation.concrete and (relation.many_to_one or relation.one_to_one)):
            return None
        model = relation.related_model
    try:
        if model._meta.get_field(name) is not field:
            return None
    except FieldDoesNotExist:
        return None
    return "__".join([*hops, name])


def _joinable(lookup) -> bool:
    """A prefetch of what forward keys point to, unfiltered (nor by a manager or FeatureType hook): the
    values_list() join reads the same rows, so the prefetch can go (the columns left are all forward)."""
    return isinstance(lookup, models.Prefetch) and (lookup.queryset is None or not lookup.queryset.query.where)


class RowGeoJsonRenderer(DBGeoJsonRenderer):
    """GeoJSON from ``values_list()`` rows when the projection allows it (see the module docstring)."""

    def decorate_queryset(self, projection, queryset):
        queryset = super().decorate_queryset(projection, queryset)
        elements = [e for e in projection.xsd_root_elements if not e.type.is_geometry]
        columns = [row_column(e, queryset.model) for e in elements]
        if (
            not all(map(_joinable, queryset._prefetch_related_lookups))
            or projection.feature_type.show_name_field
            or projection.main_geometry_element is None
            or not settings.USE_TZ  # naive datetimes: the stock renderer reads them as local time
            or None in columns
        ):
            return queryset
        texts = {}
        for i, element in enumerate(elements):
            if isinstance(element.source, models.DateTimeField):
                texts[f"_as_geojson_{i}"] = utc_iso_text(columns[i])
                columns[i] = f"_as_geojson_{i}"
        projection._geojson_row_names = [e.name for e in elements]
        # "_as_" annotations are left out of the COUNT behind numberMatched (gisserver/output/results.py).
        return queryset.prefetch_related(None).annotate(**texts).values_list("pk", "_as_db_geojson", *columns)

    def render_stream(self):
        output = self.output = _Buffer()
        output.write(orjson.dumps(self.get_header())[:-1])
        output.write(b',\n  "features": [\n')
        separator = b"    "
        for sub_collection in self.collection.results:
            projection = sub_collection.projection
            names = getattr(projection, "_geojson_row_names", None)
            id_prefix = f"{projection.feature_type.name}."
            for feature in self.read_features(sub_collection):
                if names is None:  # a model instance: the stock rendering (which indents itself)
                    output.write(separator[:-4] + self.render_feature(projection, feature))
                else:  # (pk, geometry, *properties): the same bytes, from one orjson call
                    geometry = feature[1]
                    output.write(separator + orjson.dumps({
                        "type": "Feature",
                        "id": id_prefix + str(feature[0]),
                        "geometry": None if geometry is None else orjson.Fragment(geometry),
                        "properties": dict(zip(names, feature[2:], strict=True)),
                    }, default=_json_default))
                separator = b",\n    "
                if output.size > self.chunk_size:
                    yield output.take()
        output.write(b"\n  ],\n")
        output.write(orjson.dumps(self.get_footer())[1:])
        output.write(b"\n")
        yield output.take()


class _Buffer:
    """A list of byte strings joined when taken: cheaper than BytesIO for many small writes."""

    def __init__(self):
        self.parts, self.size = [], 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data

    def getvalue(self) -> bytes:  # the stock render_exception() reads what was not sent yet
        return b"".join(self.parts)


def resolve_output_format_settings() -> None:
    """Import the renderer classes the GISSERVER_*_OUTPUT_FORMATS settings name by dotted path.

    django-gisserver 2.5 imports such a path but then checks ``issubclass()`` on the string itself
    (operations/wfs20.py, get_custom_output_formats), which raises TypeError on the first request;
    it keeps the class it stores back, so resolving the paths once at start-up is all it needs.
    """
    for formats in (conf.GISSERVER_GET_FEATURE_OUTPUT_FORMATS, conf.GISSERVER_EXTRA_OUTPUT_FORMATS):
        for options in formats.values():
            if isinstance(options.get("renderer_class"), str):
                options["renderer_class"] = import_string(options["renderer_class"])
                if not issubclass(options["renderer_class"], CollectionOutputRenderer):
                    raise TypeError(f"{options['renderer_class']} is not a CollectionOutputRenderer")
