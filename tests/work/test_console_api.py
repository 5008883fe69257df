"""The dispatcher console's read API: the queue by SLA breach, and a request in full, for staff of its departments."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from gis.models import Department
from workorders.models import Crew, DepartmentRole, ServiceRequest, WorkOrder
from workorders.work import work_order_assign, work_orders_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(catalogue):
    users = get_user_model().objects
    lights, works = Department.objects.get(code="street-lighting"), Department.objects.get(code="public-works")
    dispatcher = users.create_user("dana", is_staff=True)
    for department in (lights, works):
        DepartmentRole.objects.create(user=dispatcher, department=department, role="dispatcher")
    parks = users.create_user("olga", is_staff=True)
    DepartmentRole.objects.create(user=parks, department=Department.objects.get(code="parks"), role="dispatcher")
    not_staff = users.create_user("wes")
    DepartmentRole.objects.create(user=not_staff, department=lights, role="dispatcher")
    return {"dispatcher": dispatcher, "parks": parks, "not_staff": not_staff}


@pytest.fixture
def work(report, crew):
    """Three work orders: a lamp (72 h SLA, ready), a pothole (48 h, new), and a lamp 600 m off given to a crew
    and 5 hours late; and a lamp given to a crew and on time (not in the queue)."""
    lamp = report(dx=2, description="Lamp dark since Tuesday", email="ana@example.org", first_name="Ana")
    pothole = report("pothole", dx=2500)
    late = report(dx=600)
    work_orders_generate()
    lamp, pothole, late = (ServiceRequest.objects.get(pk=r.pk).work_order for r in (lamp, pothole, late))
    work_order_assign(work_order_id=late.pk, crew_id=crew.pk)
    WorkOrder.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(hours=5))
    held = WorkOrder.objects.create(status="dispatched", crew=crew, department=lamp.department, service=lamp.service,
                                    title="on time", due_at=timezone.now() + dt.timedelta(hours=1))
    return {"lamp": lamp, "pothole": pothole, "late": late, "held": held,
            "request": ServiceRequest.objects.get(work_order=lamp)}


def test_the_queue_is_unassigned_and_overdue_work_soonest_breach_first(client, staff, work,
                                                                       django_assert_max_num_queries):
    client.force_login(staff["dispatcher"])
    with django_assert_max_num_queries(4):
        answer = client.get("/api/console/queue")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    body = answer.json()
    assert [i["id"] for i in body["items"]] == [work["late"].pk, work["pothole"].pk, work["lamp"].pk]
    late, pothole, lamp = body["items"]
    assert late["overdue"] and late["breach_in_s"] < -4 * 3600 and late["crew"] == "lights-1"
    assert not pothole["overdue"] and 47 * 3600 < pothole["breach_in_s"] <= 48 * 3600
    assert lamp["status"] == "ready" and lamp["crew"] is None and lamp["department"] == "street-lighting"
    lon, lat = lamp["lonlat"]
    assert -71.11 < lon < -71.10 and 42.36 < lat < 42.37  # WGS84 out
    assert body["count"] == 3


def test_the_queue_filters_by_department_and_service(client, staff, work):
    client.force_login(staff["dispatcher"])
    ids = lambda **q: [i["id"] for i in client.get("/api/console/queue", q).json()["items"]]  # noqa: E731
    assert ids(department="public-works") == [work["pothole"].pk]
    assert ids(service="streetlight-outage") == [work["late"].pk, work["lamp"].pk]
    assert ids(department="street-lighting,public-works", limit=1) == [work["late"].pk]
    assert client.get("/api/console/queue", {"limit": "0"}).status_code == 400
    assert list(client.get("/api/console/queue", {"limit": "x"}).json()) == ["limit"]


def test_the_queue_shows_only_the_callers_departments_and_only_to_staff(client, staff, work):
    client.force_login(staff["parks"])
    assert client.get("/api/console/queue").json()["items"] == []
    client.force_login(staff["not_staff"])
    assert client.get("/api/console/queue").status_code == 403
    client.logout()
    assert client.get("/api/console/queue").status_code in (401, 403)


def test_a_request_in_full_has_its_words_link_routing_and_history_but_no_reporter(
        client, staff, work, django_assert_max_num_queries):
    client.force_login(staff["dispatcher"])
    request = work["request"]
    with django_assert_max_num_queries(6):
        answer = client.get(f"/api/console/requests/{request.pk}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["reference"] == request.reference and body["description"] == "Lamp dark since Tuesday"
    assert body["work_order"] == {"id": work["lamp"].pk, "status": "ready", "version": work["lamp"].version}
    assert body["link"]["asset"]["external_id"] == "L-0" and body["link"]["asset"]["type"] == "streetlight"
    assert body["link"]["explanation"].startswith("Routed to") and body["link"]["department"] == "street-lighting"
    assert 60 * 3600 < body["breach_in_s"] <= 72 * 3600
    assert body["history"][0]["kind"] == "submitted"
    assert "ana@example.org" not in answer.content.decode() and "Ana" not in answer.content.decode()  # no reporter


def test_a_request_of_another_department_is_not_found(client, staff, work):
    client.force_login(staff["parks"])
    assert client.get(f"/api/console/requests/{work['request'].pk}").status_code == 404
    assert client.get("/api/console/requests/999999").status_code == 404
    client.force_login(staff["not_staff"])
    assert client.get(f"/api/console/requests/{work['request'].pk}").status_code == 403


def test_the_console_page_is_for_staff(client, staff):
    answer = client.get("/console/")
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/?next=/console/")
    client.force_login(staff["not_staff"])
    assert client.get("/console/").status_code == 302
    client.force_login(staff["dispatcher"])
    page = client.get("/console/")
    assert page.status_code == 200 and b"maplibre-gl.mjs" in page.content and b"console.js" in page.content
    options = page.context["options"]
    assert {d["code"] for d in options["departments"]} == {"street-lighting", "public-works"}
    assert "trash-schedule" not in {s["code"] for s in options["services"]}  # informational: never dispatched
    assert options["allowed"]["ready"] == ["cancelled", "dispatched", "on_hold", "scheduled"]


def test_crews_held_work_is_not_queued_until_it_runs_late(client, staff, work):
    client.force_login(staff["dispatcher"])
    assert work["held"].pk not in [i["id"] for i in client.get("/api/console/queue").json()["items"]]
    WorkOrder.objects.filter(pk=work["held"].pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    assert work["held"].pk in [i["id"] for i in client.get("/api/console/queue").json()["items"]]
    assert Crew.objects.count() == 1
