"""The dispatcher API as a dispatcher, a crew member and an outsider use it: GeoJSON, filters, refusals."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from gis.models import Department
from workorders.models import Crew, DepartmentRole, ServiceRequest, WorkOrder
from workorders.models import WorkOrderStatus as S
from workorders.work import work_orders_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(catalogue):
    users = get_user_model().objects
    lights = Department.objects.get(code="street-lighting")
    dispatcher = users.create_user("dana")
    DepartmentRole.objects.create(user=dispatcher, department=lights, role="dispatcher")
    supervisor = users.create_user("sam")
    DepartmentRole.objects.create(user=supervisor, department=lights, role="supervisor")
    worker = users.create_user("wes")
    outsider = users.create_user("olga")
    DepartmentRole.objects.create(user=outsider, department=Department.objects.get(code="parks"), role="dispatcher")
    crew = Crew.objects.create(code="lights-1", name="Lights 1", department=lights, skills=["bucket-truck"],
                               shift_start=dt.time(0), shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7])
    crew.members.add(worker)
    return {"dispatcher": dispatcher, "supervisor": supervisor, "worker": worker, "outsider": outsider, "crew": crew}


@pytest.fixture
def wo(report):
    request = report(dx=2)
    work_orders_generate()
    return ServiceRequest.objects.get(pk=request.pk).work_order


def as_user(client, user):
    client.force_login(user)
    return client


def test_the_list_is_geojson_filtered_and_only_the_callers_departments(client, people, wo, report):
    report("pothole", dx=2500)
    work_orders_generate()
    body = as_user(client, people["dispatcher"]).get("/api/work-orders").json()
    assert body["type"] == "FeatureCollection" and body["count"] == 1  # not Public Works' pothole
    [feature] = body["features"]
    assert feature["id"] == wo.pk and feature["properties"]["status"] == "ready"
    lon, lat = feature["geometry"]["coordinates"]
    assert -71.11 < lon < -71.10 and 42.36 < lat < 42.37  # WGS84 out, not the storage CRS
    assert client.get("/api/work-orders", {"status": "dispatched"}).json()["count"] == 0
    assert client.get("/api/work-orders", {"bbox": "-71.2,42.3,-71.0,42.4"}).json()["count"] == 1
    assert client.get("/api/work-orders", {"bbox": "-70.9,42.3,-70.8,42.4"}).json()["count"] == 0
    assert client.get("/api/work-orders", {"overdue": "true"}).json()["count"] == 0
    WorkOrder.objects.filter(pk=wo.pk).update(due_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert client.get("/api/work-orders", {"overdue": "true"}).json()["count"] == 1
    for bad in ({"status": "finished"}, {"priority": "9"}, {"bbox": "1,2,3"}, {"bbox": "10,10,5,5"}):
        answer = client.get("/api/work-orders", bad)
        assert answer.status_code == 400 and list(answer.json()) == [next(iter(bad))], bad
    assert as_user(client, people["outsider"]).get("/api/work-orders").json()["count"] == 0
    client.logout()
    assert client.get("/api/work-orders").status_code in (401, 403)


def test_dispatcher_assigns_the_suggested_crew_and_the_crew_works_it(client, people, wo):
    crew = people["crew"]
    as_user(client, people["worker"]).post(f"/api/crews/{crew.pk}/positions", {"lon": -71.1046, "lat": 42.3672},
                                           content_type="application/json")
    dispatcher = as_user(client, people["dispatcher"])
    best = dispatcher.get(f"/api/work-orders/{wo.pk}/best-crews").json()["crews"]
    assert [c["code"] for c in best] == ["lights-1"] and best[0]["distance_m"] < 60
    answer = dispatcher.post(f"/api/work-orders/{wo.pk}/assign", {"crew": crew.pk, "version": wo.version},
                             content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["properties"]["status"] == "dispatched"
    again = dispatcher.post(f"/api/work-orders/{wo.pk}/transition", {"to": "dispatched", "crew": crew.pk},
                            content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "not_allowed"
    worker = as_user(client, people["worker"])
    for step in ({"to": "en_route"}, {"to": "in_progress", "lon": -71.1043, "lat": 42.3670},
                 {"to": "completed", "resolution": "fixed", "note": "New lamp."}):
        answer = worker.post(f"/api/work-orders/{wo.pk}/transition", step, content_type="application/json")
        assert answer.status_code == 200, (step, answer.content)
    detail = worker.get(f"/api/work-orders/{wo.pk}").json()["properties"]
    assert detail["status"] == "closed" and detail["requests"][0]["detailed_status"] == "fixed"
    assert [h["to"] for h in detail["history"]] == ["ready", "dispatched", "en_route", "in_progress", "completed",
                                                    "closed"]
    assert detail["history"][3]["position"] == pytest.approx([-71.1043, 42.367], abs=1e-6)
    assert detail["tasks"][0]["asset"] == "L-0"


def test_roles_decide_who_may_do_what(client, people, wo):
    crew = people["crew"]
    worker = as_user(client, people["worker"])
    assert worker.get(f"/api/work-orders/{wo.pk}").status_code == 404  # not yet their crew's work
    as_user(client, people["dispatcher"]).post(f"/api/work-orders/{wo.pk}/assign", {"crew": crew.pk},
                                               content_type="application/json")
    worker = as_user(client, people["worker"])
    assert worker.get(f"/api/work-orders/{wo.pk}").status_code == 200
    denied = worker.post(f"/api/work-orders/{wo.pk}/transition", {"to": "cancelled", "note": "no"},
                         content_type="application/json")
    assert denied.status_code == 403 and "detail" in denied.json()
    assert worker.post(f"/api/work-orders/{wo.pk}/assign", {"crew": crew.pk},
                       content_type="application/json").status_code == 403
    outsider = as_user(client, people["outsider"])
    assert outsider.get(f"/api/work-orders/{wo.pk}").status_code == 404
    assert outsider.post(f"/api/crews/{crew.pk}/positions", {"lon": -71.1, "lat": 42.36},
                         content_type="application/json").status_code == 403
    # Verifying is a supervisor's step.
    dispatcher = as_user(client, people["dispatcher"])
    WorkOrder.objects.filter(pk=wo.pk).update(status=S.COMPLETED)
    assert dispatcher.post(f"/api/work-orders/{wo.pk}/transition", {"to": "closed"},
                           content_type="application/json").status_code == 403
    assert as_user(client, people["supervisor"]).post(f"/api/work-orders/{wo.pk}/transition", {"to": "closed"},
                                                      content_type="application/json").status_code == 200


def test_reassignment_takes_the_work_back_and_gives_it_to_the_other_crew(client, people, wo):
    other = Crew.objects.create(code="lights-2", name="Lights 2", department=people["crew"].department)
    dispatcher = as_user(client, people["dispatcher"])
    for crew in (people["crew"], other):
        answer = dispatcher.post(f"/api/work-orders/{wo.pk}/assign", {"crew": crew.pk},
                                 content_type="application/json")
        assert answer.status_code == 200 and answer.json()["properties"]["crew"] == crew.code
    detail = dispatcher.get(f"/api/work-orders/{wo.pk}").json()["properties"]
    history = [(h["from"], h["to"]) for h in detail["history"]]
    assert history[-3:] == [("ready", "dispatched"), ("dispatched", "ready"), ("ready", "dispatched")]
    stale = dispatcher.post(f"/api/work-orders/{wo.pk}/assign", {"crew": people["crew"].pk, "version": 1},
                            content_type="application/json")
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"


def test_bad_input_gets_a_clear_4xx(client, people, wo):
    dispatcher = as_user(client, people["dispatcher"])
    for body, field in (({"to": "flying"}, "to"), ({"to": "on_hold", "hold_reason": "bored"}, "hold_reason"),
                        ({"to": "in_progress", "lon": 5}, "lat"), ({}, "to")):
        answer = dispatcher.post(f"/api/work-orders/{wo.pk}/transition", body, content_type="application/json")
        assert answer.status_code == 400 and field in answer.json(), (body, answer.content)
    assert dispatcher.post("/api/work-orders/999999/transition", {"to": "ready"},
                           content_type="application/json").status_code == 404
    answer = dispatcher.post(f"/api/crews/{people['crew'].pk}/positions", {"lon": 2.35, "lat": 48.85},
                             content_type="application/json")
    assert answer.status_code == 400 and "lon" in answer.json()  # Paris is outside this city's CRS
    assert dispatcher.get(f"/api/work-orders/{wo.pk}/best-crews", {"limit": "x"}).status_code == 400
