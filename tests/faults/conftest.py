"""Fault tests: the Open311 catalogue and key, and a way to cut a database connection as pg_terminate_backend does."""

import psycopg
import pytest
from django.db import connection

from tests.open311.conftest import api_key, catalogue, fresh_rate_counters  # noqa: F401 (fixtures used here)


def cut(pid: int) -> None:
    """pg_terminate_backend(pid) from a connection of its own, as the fault replay does to a whole database."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("server_side_binding", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


@pytest.fixture
def cut_connection():
    """Cut this test's own database connection; returns the backend pid that was cut."""
    def cut_now() -> int:
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        cut(pid)
        return pid

    return cut_now
