"""End to end through a real Celery worker and the real Redis broker, against the test database."""

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
from gis import services
from gis.importing.mapping import load_mapping
from gis.models import Asset, ImportRun
from gis.tasks import import_run_execute_task
from tests.conftest import FIXTURES

QUEUE = f"test-{uuid.uuid4().hex[:8]}"  # our own queue: a demo worker on the same broker never sees it


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgis://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "fieldsvc", "worker", "-Q", QUEUE, "--pool", "solo",
         "-n", f"{QUEUE}@%h", "--loglevel", "WARNING"],
        cwd=settings.BASE_DIR, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(QUEUE in name for reply in celery_app.control.ping(timeout=1) or [] for name in reply):
            break
        assert proc.poll() is None, "the Celery worker exited on start"
    else:
        proc.kill()
        pytest.fail("the Celery worker did not answer a ping within 60 s")
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_import_task_runs_in_a_real_worker_through_redis(worker, registry):
    mapping = load_mapping(FIXTURES / "mappings" / "cambridge_signals.yaml")
    run = services.import_run_create(path=FIXTURES / "cambridge" / "TRAFFIC_Signals.geojson", mapping=mapping)
    import_run_execute_task.apply_async(kwargs={"import_run_id": run.pk}, queue=QUEUE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert (run.status, run.created, run.rejected) == ("succeeded", 785, 0)
    assert Asset.objects.filter(asset_type__code="traffic-signal").count() == 785
    # Running the same task again is harmless: the run is finished, nothing is imported twice.
    again = import_run_execute_task.apply_async(kwargs={"import_run_id": run.pk}, queue=QUEUE)
    assert again.get(timeout=30) == "succeeded"
    assert ImportRun.objects.get(pk=run.pk).created == 785
    assert Asset.objects.count() == 785


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_health_sees_the_running_worker(worker, client):
    body = client.get("/health").json()
    assert body["worker"]["ok"] is True
    assert any(QUEUE in name for name in body["worker"]["workers"])
    assert body["status"] == "ok"


def test_stalled_queued_runs_are_found_for_requeueing(db, settings):
    settings.FIELDSVC_IMPORT_REQUEUE_AFTER_S = 0
    mapping = load_mapping(FIXTURES / "mappings" / "cambridge_signals.yaml")
    run = services.import_run_create(path=FIXTURES / "cambridge" / "TRAFFIC_Signals.geojson", mapping=mapping)
    assert services.import_run_requeue_stalled() == [run.pk]
