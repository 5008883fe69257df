"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered per app."""

import logging
import os

from celery import Celery
from celery.contrib.django.task import DjangoTask
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fieldsvc.settings")


class Task(DjangoTask):
    """Every fieldsvc task. A worker process keeps its database connection from task to task
    (CELERY_DB_REUSE_MAX), checked before each task as Django checks it before each request: one cut since
    the last task (pg_terminate_backend, a server restart) is replaced rather than failed on. Before a retry,
    connections a fault left broken are closed, so the next attempt opens a fresh one."""

    def __call__(self, *args, **kwargs):
        # Eager runs and direct calls (tests, a task run inline) stay on their caller's connection and
        # transaction: Django would close a connection whose autocommit is off, i.e. one inside atomic().
        if not (self.request.is_eager or self.request.called_directly):
            from django.db import close_old_connections

            close_old_connections()  # with CONN_HEALTH_CHECKS: the next query first checks the connection
        return super().__call__(*args, **kwargs)

    def retry(self, *args, **kwargs):
        from django.db import close_old_connections

        close_old_connections()  # closes those whose last query failed and that no longer answer
        return super().retry(*args, **kwargs)


app = Celery("fieldsvc", task_cls="fieldsvc.celery:Task")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def transient_errors() -> tuple[type[BaseException], ...]:
    """What a retry can outlast: the database's connection cut or the server restarting, the broker away."""
    from django.db import InterfaceError as DbInterfaceError
    from django.db import OperationalError as DbOperationalError

    return DbOperationalError, DbInterfaceError, OperationalError, ConnectionError


# For idempotent tasks (running one twice does its work once): retried with exponential backoff and jitter
# (1, 2, 4 … 30 s, ten times) on a transient error, and put back in the queue, not dropped, when the process
# running it dies (acks_late is on for all tasks; a task whose worker is SIGKILLed whole is found again by
# its sweeper, or redelivered by Redis after the visibility timeout).
RETRYING = {"autoretry_for": transient_errors(), "retry_backoff": 1, "retry_backoff_max": 30, "retry_jitter": True,
            "max_retries": 10, "reject_on_worker_lost": True}


def enqueue(task_name: str, **kwargs) -> bool:
    """Send a task by name; if the broker is unreachable, log and return False instead of failing the
    caller. Only for work already recorded in the database, which a beat sweeper sends again."""
    try:
        app.send_task(task_name, kwargs=kwargs, ignore_result=True)  # no result subscription per call
    except (OperationalError, ConnectionError, OSError) as exc:
        logging.getLogger(__name__).warning("broker unreachable, %s(%s) left to its sweeper: %s",
                                            task_name, kwargs, exc)
        return False
    return True
