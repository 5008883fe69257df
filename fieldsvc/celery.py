"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered per app."""

import logging
import os

from celery import Celery
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fieldsvc.settings")

app = Celery("fieldsvc", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
