"""Celery queues by kind of work: the routes, and real workers that each take only their own queue's tasks."""

import os
import re
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from fieldsvc.celery import app as celery_app

PREFIX = f"kinds-{uuid.uuid4().hex[:8]}"  # the workers' default queue; their kinds' queues are "<it>.<kind>"


def queue_of(task: str) -> str:
    """Where this run's routes send ``task``, with the tests' prefix swapped for the workers' own."""
    return celery_app.amqp.router.route({}, task, (), {})["queue"].name.replace(
        settings.CELERY_TASK_DEFAULT_QUEUE, PREFIX, 1)


def start_worker(kind: str) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "CELERY_TASK_DEFAULT_QUEUE": PREFIX,
           "DATABASE_URL": f"postgis://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}@{db['HOST']}:{db['PORT']}"
                           f"/{db['NAME']}"}
    name = f"{PREFIX}-{kind}"
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "fieldsvc", "worker", "-Q", f"{PREFIX}.{kind}",
                             "--pool", "solo", "-n", f"{name}@%h", "--loglevel", "WARNING"],
                            cwd=settings.BASE_DIR, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(name in worker for reply in celery_app.control.ping(timeout=1) or [] for worker in reply):
            return proc
        assert proc.poll() is None, "the Celery worker exited on start"
    proc.kill()
    pytest.fail(f"the {kind} worker did not answer a ping within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def test_every_routed_task_exists_and_every_kind_has_a_queue():
    import gis.tasks  # noqa: F401
    import tiles.tasks  # noqa: F401
    import workorders.tasks  # noqa: F401

    routed = {task for tasks in settings.FIELDSVC_CELERY_QUEUE_KINDS.values() for task in tasks}
    assert routed <= set(celery_app.tasks), routed - set(celery_app.tasks)
    assert set(settings.CELERY_TASK_ROUTES) == routed
    tests_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    assert settings.FIELDSVC_CELERY_QUEUES == [tests_queue] + [
        f"{tests_queue}.{kind}" for kind in ("linking", "notifications", "tiles", "planning")]
    # Under pytest nothing goes to a queue the stack's workers read.
    assert not {"celery", "linking", "notifications", "tiles", "planning"} & set(settings.FIELDSVC_CELERY_QUEUES)
    assert celery_app.amqp.router.route({}, "gis.tasks.import_run_execute_task", (), {})["queue"].name == tests_queue


def test_the_demo_starts_a_worker_for_every_queue():
    """scripts/stack.sh lists the queues it starts workers for: the same as the settings' (stack names)."""
    script = (settings.BASE_DIR / "scripts" / "stack.sh").read_text()
    started = re.search(r"^WORKER_QUEUES=\(([^)]*)\)", script, re.M).group(1).split()
    assert [entry.split(":")[0] for entry in started] == ["celery", *settings.FIELDSVC_CELERY_QUEUE_KINDS]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_of_one_queue_runs_only_that_kind_of_task():
    """The linking worker links and leaves the notice on its queue; the notifications worker then sends it."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    linking_queue = queue_of("workorders.tasks.requests_link_task")
    notices_queue = queue_of("workorders.tasks.notification_send_task")
    assert (linking_queue, notices_queue) == (f"{PREFIX}.linking", f"{PREFIX}.notifications")
    linker = start_worker("linking")
    try:
        notice = celery_app.send_task("workorders.tasks.notification_send_task", kwargs={"notification_id": 0},
                                      queue=notices_queue)
        link = celery_app.send_task("workorders.tasks.requests_link_task", kwargs={"request_ids": []},
                                    queue=linking_queue)
        assert link.get(timeout=60) == 0  # run by the linking worker
        time.sleep(1.0)  # the same worker had ample time to take the notice too, had it read that queue
        assert not notice.ready()
        assert broker.llen(notices_queue) == 1
    finally:
        stop(linker)
    notifier = start_worker("notifications")
    try:
        assert notice.get(timeout=60) == "gone"  # no such notification: the task ran, in the right worker
        assert broker.llen(notices_queue) == 0
    finally:
        stop(notifier)
        broker.delete(linking_queue, notices_queue)
