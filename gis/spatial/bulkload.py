"""Bulk-load mode for a registry table: secondary indexes and key constraints off, rebuilt once after.

Rebuilding a GiST index from sorted input is ~4x cheaper per row than growing it row by row, and
re-adding a foreign key checks every row in one join instead of one trigger call per row. The
price is an ACCESS EXCLUSIVE lock: readers of the table wait until the import commits.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import sql

_CONSTRAINTS = """
    SELECT c.conname, pg_get_constraintdef(c.oid)
      FROM pg_constraint c
     WHERE c.conrelid = %(table)s::regclass
       AND (c.contype = 'f'
            OR (c.contype = 'u' AND NOT EXISTS (  -- a unique key other tables point at must stay
                SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid)))
     ORDER BY c.contype DESC, c.conname
"""
_INDEXES = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
      FROM pg_index i
     WHERE i.indrelid = %(table)s::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
     ORDER BY 1
"""


def rows_at_most(cursor, *, table: str, limit: int) -> int:
    """The table's row count, counted no further than ``limit`` (cheap on a big table)."""
    cursor.execute(sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) AS r").format(sql.Identifier(table)),
                   [limit])
    return cursor.fetchone()[0]


def lock_exclusive(cursor, *, table: str) -> None:
    cursor.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)))


@contextmanager
def indexes_suspended(cursor, *, table: str) -> Iterator[None]:
    """Within the caller's transaction: lock ``table``, drop what slows row-by-row loading, rebuild it on exit.

    The primary key and CHECK constraints stay (they cost little and other tables point at the key).
    If the body raises, nothing is rebuilt: the transaction's rollback brings everything back.
    """
    name = sql.Identifier(table)
    lock_exclusive(cursor, table=table)
    # A foreign key cannot be dropped while checks deferred to commit are pending on either table
    # (rows written earlier in the caller's transaction): run those checks now, then defer again
    # (Django's foreign keys are all DEFERRABLE INITIALLY DEFERRED).
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    cursor.execute(_CONSTRAINTS, {"table": table})
    constraints = cursor.fetchall()
    cursor.execute(_INDEXES, {"table": table})
    indexes = cursor.fetchall()
    for constraint, _ in constraints:
        cursor.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(name, sql.Identifier(constraint)))
    for index, _ in indexes:
        cursor.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(index)))  # regclass text is already quoted
    yield
    for _, definition in indexes:
        cursor.execute(sql.SQL(definition))
    for constraint, definition in constraints:
        cursor.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(name, sql.Identifier(constraint), sql.SQL(definition))
        )
    cursor.execute(sql.SQL("ANALYZE {}").format(name))
