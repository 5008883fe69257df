"""One-row INSERTs for the intake hot path, with SQL built once per model instead of per call."""

from functools import cache

from django.db import connection
from django.db.models import Model


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _insert_sql(model: type[Model], unless_taken: str | None,
                children: tuple[type[Model], ...] = ()) -> tuple[str, list, list[tuple[list, int]]]:
    meta = model._meta
    # Serial keys come from the database; a key that is a relation (a one-to-one extension row) is given.
    fields = [f for f in meta.concrete_fields if not (f.primary_key and f.db_returning)]
    columns = ", ".join(_quoted(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    conflict = f" ON CONFLICT ({_quoted(unless_taken)}) DO NOTHING" if unless_taken else ""
    sql = f"INSERT INTO {meta.db_table} ({columns}) VALUES ({placeholders}){conflict} RETURNING {meta.pk.column}"
    if not children:
        return sql, fields, []
    # Rows that belong to the new row, written by the same statement (one round trip): each takes the
    # new key from the CTE, so when ``unless_taken`` skips the row they are skipped too.
    parts, plans = [f"WITH parent AS ({sql})"], []
    for n, child in enumerate(children):
        link = _relation_to(child, model)
        child_fields = [f for f in child._meta.concrete_fields
                        if f is not link and not (f.primary_key and f.db_returning)]
        select = ", ".join([*(["%s"] * len(child_fields)), f"parent.{meta.pk.column}"])
        names = ", ".join([*(_quoted(f.column) for f in child_fields), _quoted(link.column)])
        parts.append(f", child{n} AS (INSERT INTO {child._meta.db_table} ({names}) SELECT {select} FROM parent)")
        plans.append((child_fields, n))
    parts.append(f" SELECT {meta.pk.column} FROM parent")
    return "".join(parts), fields, plans


def _relation_to(child: type[Model], parent: type[Model]):
    found = [f for f in child._meta.concrete_fields if f.is_relation and f.related_model is parent]
    if len(found) != 1:
        raise ValueError(f"{child.__name__} needs exactly one relation to {parent.__name__}, has {len(found)}")
    return found[0]


def _prepared(obj: Model, fields: list) -> list:
    values = []
    for f in fields:
        value = f.pre_save(obj, True)
        srid = getattr(value, "srid", None)
        if srid is not None and srid != f.srid:
            raise ValueError(f"{f.name}: geometry in SRID {srid}, the column holds {f.srid}")
        values.append(f.get_db_prep_save(value, connection))
    return values


def insert(obj: Model, *, unless_taken: str | None = None, children: tuple[Model, ...] = ()) -> bool:
    """INSERT ``obj`` and set its primary key: what ``obj.save()`` does for a new row (field defaults,
    auto_now, database conversions), minus recompiling the statement and the save signals.

    With ``unless_taken`` (a column with a unique constraint), a row already holding that value makes
    this return False and write nothing; any other conflict raises IntegrityError as usual.
    ``children`` are rows of other models with one relation to ``obj``'s, inserted by the same
    statement; their relation is set, their own serial keys are not read back.
    Geometries must already be in their field's SRID (the storage CRS): no ST_Transform is added."""
    sql, fields, plans = _insert_sql(type(obj), unless_taken, tuple(type(c) for c in children))
    values = _prepared(obj, fields)
    for (child_fields, n) in plans:
        values.extend(_prepared(children[n], child_fields))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    for child in children:
        setattr(child, _relation_to(type(child), type(obj)).attname, obj.pk)
        if child.pk is not None:  # a one-to-one key: the row is stored under it
            child._state.adding = False
            child._state.db = connection.alias
    return True
