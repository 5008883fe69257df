"""One-row INSERTs for the intake hot path, with SQL built once per model instead of per call."""

from functools import cache

from django.db import connection
from django.db.models import Model


@cache
def _insert_sql(model: type[Model], unless_taken: str | None) -> tuple[str, list]:
    meta = model._meta
    # Serial keys come from the database; a key that is a relation (a one-to-one extension row) is given.
    fields = [f for f in meta.concrete_fields if not (f.primary_key and f.db_returning)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    conflict = f" ON CONFLICT ({connection.ops.quote_name(unless_taken)}) DO NOTHING" if unless_taken else ""
    return (f"INSERT INTO {meta.db_table} ({columns}) VALUES ({placeholders}){conflict} "
            f"RETURNING {meta.pk.column}"), fields


def insert(obj: Model, *, unless_taken: str | None = None) -> bool:
    """INSERT ``obj`` and set its primary key: what ``obj.save()`` does for a new row (field defaults,
    auto_now, database conversions), minus recompiling the statement and the save signals.

    With ``unless_taken`` (a column with a unique constraint), a row already holding that value makes
    this return False and write nothing; any other conflict raises IntegrityError as usual.
    Geometries must already be in their field's SRID (the storage CRS): no ST_Transform is added."""
    sql, fields = _insert_sql(type(obj), unless_taken)
    values = []
    for f in fields:
        value = f.pre_save(obj, True)
        srid = getattr(value, "srid", None)
        if srid is not None and srid != f.srid:
            raise ValueError(f"{f.name}: geometry in SRID {srid}, the column holds {f.srid}")
        values.append(f.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True
