"""End to end through a real Celery worker and the real Redis broker, against the test database."""

import os
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection
from kombu.exceptions import OperationalError

from fieldsvc.celery import app as celery_app
from fieldsvc.coalesce import Coalescer
from gis import crs, services
from gis.importing.mapping import load_mapping
from gis.models import Asset, AssetType, ImportRun
from gis.tasks import import_run_execute_task
from tests.conftest import FIXTURES
from workorders import linking
from workorders.models import LinkState, RequestLink
from workorders.services import api_key_create
from workorders.services import catalogue_load as services_catalogue_load
from workorders.tasks import request_link_sweep_task

QUEUE = f"test-{uuid.uuid4().hex[:8]}"  # our own queue: a demo worker on the same broker never sees it
QUEUES = ",".join([QUEUE] + [f"{QUEUE}.{kind}" for kind in settings.FIELDSVC_CELERY_QUEUE_KINDS])  # and its kinds'


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgis://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    env["CELERY_TASK_DEFAULT_QUEUE"] = QUEUE  # what this worker enqueues stays with it
    env["FIELDSVC_LINK_SWEEP_AFTER_S"] = "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "fieldsvc", "worker", "-Q", QUEUES, "--pool", "solo",
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


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_requests_taken_while_the_broker_is_down_are_linked_by_the_sweeper(worker, registry, client, monkeypatch):
    """Broker outage: intake still answers 201 and records the link as pending; once the broker is back,
    the beat sweeper (here sent by hand to the real worker) links what the lost tasks would have."""
    services_catalogue_load(data={"services": [{
        "code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
        "asset_types": ["streetlight"], "snap_distance_m": 30}]})
    _, key = api_key_create(name="outage test")
    lamp = Asset.objects.create(asset_type=AssetType.objects.get(code="streetlight"), external_id="L-1",
                                geom=Point(*crs.storage_point(-71.1431224, 42.3804127), srid=crs.storage_srid()))
    sent = []

    def broker_down(name, **kwargs):
        sent.append(name)
        raise OperationalError("Error 111 connecting to 127.0.0.1:56379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    response = client.post("/open311/v2/requests.json", {
        "api_key": key, "service_code": "streetlight-outage", "lat": "42.38043", "long": "-71.14310"})
    assert response.status_code == 201, response.content
    request_id = int(response.json()[0]["service_request_id"])
    linking.link_soon.flush()  # in case another test's send held this one back for its window
    assert sent == ["workorders.tasks.requests_link_task"]  # tried, and lost
    assert RequestLink.objects.get(pk=request_id).state == LinkState.PENDING
    monkeypatch.undo()  # the broker is back

    swept = request_link_sweep_task.apply_async(queue=QUEUE).get(timeout=60)
    assert swept == 1
    link = RequestLink.objects.get(pk=request_id)
    assert (link.state, link.asset_id, link.asset_outcome) == (LinkState.LINKED, lamp.pk, "matched")
    assert request_link_sweep_task.apply_async(queue=QUEUE).get(timeout=60) == 0  # nothing left: harmless
    assert "request-link-sweep" in settings.CELERY_BEAT_SCHEDULE


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_requests_posted_together_are_linked_by_the_worker_from_one_task(worker, registry, client, monkeypatch):
    """Intake → the coalesced task (this worker's queue) → linked in the worker, one task for the burst."""
    services_catalogue_load(data={"services": [{
        "code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
        "asset_types": ["streetlight"], "snap_distance_m": 30}]})
    _, key = api_key_create(name="burst test")
    lamp = Asset.objects.create(asset_type=AssetType.objects.get(code="streetlight"), external_id="L-2",
                                geom=Point(*crs.storage_point(-71.1431224, 42.3804127), srid=crs.storage_srid()))
    messages = []

    def to_this_worker(ids):
        messages.append(ids)
        celery_app.send_task("workorders.tasks.requests_link_task", kwargs={"request_ids": ids}, queue=QUEUE,
                             ignore_result=True)

    monkeypatch.setattr(linking, "link_soon", Coalescer(to_this_worker, window_s=1.0))
    ids = []
    for n in range(6):
        response = client.post("/open311/v2/requests.json", {
            "api_key": key, "service_code": "streetlight-outage", "lat": f"{42.38043 + n * 1e-6:.8f}",
            "long": "-71.14310", "description": f"dark lamp {n}"})
        assert response.status_code == 201, response.content
        ids.append(int(response.json()[0]["service_request_id"]))
    deadline = time.monotonic() + 60
    while RequestLink.objects.filter(pk__in=ids, state=LinkState.PENDING).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    links = RequestLink.objects.filter(pk__in=ids)
    assert sorted(links.values_list("state", "asset_id").distinct()) == [(LinkState.LINKED, lamp.pk)]
    assert messages[0] == ids[:1] and sorted(sum(messages[1:], [])) == ids[1:]  # the first at once, then held
    assert len(messages) <= 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_day_plan_is_solved_in_the_worker(worker, registry):
    """The plan task through Redis to the real worker: the plan it stores is there to read."""
    import datetime as dt

    from gis.models import Department
    from workorders.models import Crew, DayPlan, Service, WorkOrder, WorkOrderTask
    from workorders.tasks import day_plan_make_task

    lights = Department.objects.get(code="street-lighting")
    depot = Point(*crs.storage_point(-71.1043, 42.3670), srid=crs.storage_srid())
    Crew.objects.create(code="all-day", name="All day", department=lights, depot=depot, shift_start=dt.time(0),
                        shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7])
    service = Service.objects.create(code="lamp", name="Lamp", department=lights)
    wo = WorkOrder.objects.create(status="ready", department=lights, service=service, title="lamp",
                                  location=Point(depot.x + 300, depot.y, srid=crs.storage_srid()))
    WorkOrderTask.objects.create(work_order=wo, description="lamp", estimated_minutes=20)
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    version = day_plan_make_task.apply_async(kwargs={"department_id": lights.pk, "date": tomorrow, "seconds": 1},
                                             queue=QUEUE).get(timeout=60)
    assert version == 1
    plan = DayPlan.objects.get(department=lights, date=tomorrow)
    assert list(plan.stops.values_list("work_order_id", flat=True)) == [wo.pk]
