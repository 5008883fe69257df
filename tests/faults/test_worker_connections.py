"""A real worker keeps its database connection from task to task, and replaces one cut in between instead of
failing on it (the fault replay's pg_terminate_backend between two tasks)."""

import os
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from fieldsvc.celery import app as celery_app
from tests.faults.conftest import cut
from workorders.tasks import request_link_sweep_task

QUEUE = f"faults-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
           "DATABASE_URL": f"postgis://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}@{db['HOST']}:{db['PORT']}"
                           f"/{db['NAME']}", "FIELDSVC_PLAIN_HTTP": "1", "PGAPPNAME": QUEUE}  # libpq names it
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "fieldsvc", "worker", "-Q", QUEUE, "--pool",
                             "solo", "-n", f"{QUEUE}@%h", "--loglevel", "WARNING"], cwd=settings.BASE_DIR, env=env)
    deadline = time.monotonic() + 60
    while not any(QUEUE in name for reply in celery_app.control.ping(timeout=1) or [] for name in reply):
        assert proc.poll() is None and time.monotonic() < deadline, "the Celery worker did not start"
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


def worker_backends() -> set[int]:
    """The worker's connections to the test database (by the application name it connects with)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND application_name = %s", [QUEUE])
        return {pid for (pid,) in cursor.fetchall()}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_connection_and_replaces_one_cut_between_tasks(worker):
    def run() -> int:  # the sweeper has no retries: a task that met a dead connection would fail
        return request_link_sweep_task.apply_async(queue=QUEUE).get(timeout=30)

    assert run() == 0
    first = worker_backends()
    assert first, "the worker's connection is not kept after its task"
    assert run() == 0 and worker_backends() == first  # the same connection: not one per task
    for pid in first:
        cut(pid)
    assert run() == 0  # no OperationalError: checked before the task and replaced
    assert worker_backends().isdisjoint(first)

