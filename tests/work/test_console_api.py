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


def post(client, url: str, body: dict | None = None):
    return client.post(url, body or {}, content_type="application/json")


def test_reclassifying_a_request_moves_its_unstarted_work_order_with_it(client, staff, work):
    client.force_login(staff["dispatcher"])
    request = ServiceRequest.objects.get(work_order=work["pothole"])
    answer = post(client, f"/api/console/requests/{request.pk}/reclassify", {"service": "graffiti", "note": "paint"})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"id": request.pk, "service": "graffiti", "department": "public-works",
                             "work_order": work["pothole"].pk}
    wo = WorkOrder.objects.get(pk=work["pothole"].pk)
    assert wo.service.code == "graffiti" and wo.sla_hours == 120 and wo.version == work["pothole"].version + 1
    assert wo.title.startswith("Graffiti") and ServiceRequest.objects.get(pk=request.pk).expected_at == wo.due_at
    assert "Reclassified from Pothole to Graffiti: paint" in request.notes.last().description
    assert wo.events.last().note.startswith("Reclassified")
    assert [t.description for t in wo.tasks.all()] == [f"Graffiti at {request.reference}"]
    again = post(client, f"/api/console/requests/{request.pk}/reclassify", {"service": "graffiti"})
    assert again.status_code == 409 and again.json()["code"] == "same_service"
    assert post(client, f"/api/console/requests/{request.pk}/reclassify", {"service": "nope"}).status_code == 400
    late = ServiceRequest.objects.get(work_order=work["late"])  # a crew has it
    refused = post(client, f"/api/console/requests/{late.pk}/reclassify", {"service": "pothole"})
    assert refused.status_code == 409 and refused.json()["code"] == "work_started"
    assert ServiceRequest.objects.get(pk=late.pk).service.code == "streetlight-outage"  # nothing written


def test_merging_a_duplicate_closes_it_and_cancels_its_own_work_order(client, staff, work, report):
    client.force_login(staff["dispatcher"])
    original = work["request"]
    copy = report(dx=300, email="bea@example.org")  # 300 m off: its own work order
    work_orders_generate()
    copy_wo = ServiceRequest.objects.get(pk=copy.pk).work_order_id
    answer = post(client, f"/api/console/requests/{copy.pk}/merge", {"into": original.reference.lower()})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"id": copy.pk, "status": "closed", "detailed_status": "duplicate",
                             "duplicate_of": original.pk}
    assert WorkOrder.objects.get(pk=copy_wo).status == "cancelled"
    assert original.followers.filter(email="bea@example.org", via="duplicate").exists()
    assert original.notes.last().description == f"Reported again ({copy.reference})"
    refused = post(client, f"/api/console/requests/{copy.pk}/merge", {"into": str(original.pk)})
    assert refused.status_code == 409 and refused.json()["code"] == "request_closed"
    for unknown in ("NOPE-0000", "9" * 30):
        assert post(client, f"/api/console/requests/{original.pk}/merge", {"into": unknown}).status_code == 400
    itself = post(client, f"/api/console/requests/{original.pk}/merge", {"into": str(original.pk)})
    assert itself.status_code == 409 and itself.json()["code"] == "same_request"


def test_a_work_order_is_made_for_a_request_without_one(client, staff, work):
    client.force_login(staff["dispatcher"])
    request = work["request"]
    refused = post(client, f"/api/console/requests/{request.pk}/work-order")
    assert refused.status_code == 409 and refused.json()["code"] == "has_work_order"
    ServiceRequest.objects.filter(pk=request.pk).update(work_order=None)
    answer = post(client, f"/api/console/requests/{request.pk}/work-order")
    assert answer.status_code == 201 and answer.json()["status"] == "ready"
    assert ServiceRequest.objects.get(pk=request.pk).work_order_id == answer.json()["id"]


def test_only_the_departments_dispatchers_triage(client, staff, work):
    request = work["request"]
    client.force_login(staff["parks"])
    assert post(client, f"/api/console/requests/{request.pk}/reclassify", {"service": "pothole"}).status_code == 404
    viewer = get_user_model().objects.create_user("vic", is_staff=True)
    DepartmentRole.objects.create(user=viewer, department=request.department, role="viewer")
    client.force_login(viewer)
    assert post(client, f"/api/console/requests/{request.pk}/work-order").status_code == 403
    client.force_login(staff["not_staff"])
    assert post(client, f"/api/console/requests/{request.pk}/merge", {"into": "x"}).status_code == 403


def test_crews_routes_follow_the_current_plan_from_where_each_crew_is(client, staff, work, crew,
                                                                    django_assert_max_num_queries):
    from django.contrib.gis.geos import Point

    from workorders.models import DayPlan, PlanStop

    crew.last_position = Point(work["lamp"].location.x - 100, work["lamp"].location.y, srid=work["lamp"].location.srid)
    crew.save()
    today, now = timezone.localdate(), timezone.now()
    old = DayPlan.objects.create(department=crew.department, date=today, version=1, reason="morning", solver="t",
                                 seconds=1, travel_s=0)
    PlanStop.objects.create(plan=old, crew=crew, sequence=1, work_order=work["pothole"], arrive_at=now, start_at=now,
                            end_at=now)
    current = DayPlan.objects.create(department=crew.department, date=today, version=2, reason="urgent", solver="t",
                                     seconds=1, travel_s=0)
    for n, wo in enumerate((work["lamp"], work["late"]), start=1):
        PlanStop.objects.create(plan=current, crew=crew, sequence=n, work_order=wo, arrive_at=now, start_at=now,
                                end_at=now)
    client.force_login(staff["dispatcher"])
    with django_assert_max_num_queries(5):
        body = client.get("/api/console/plans").json()
    [route] = body["features"]
    assert route["properties"] | {"first_arrive_at": None} == {
        "crew": crew.pk, "code": "lights-1", "department": "street-lighting", "stops": 2, "version": 2,
        "first_arrive_at": None}
    start, first, second = route["geometry"]["coordinates"]
    assert start[0] < first[0] < second[0]  # from the crew, 100 m west, to the lamp, then 600 m east
    assert client.get("/api/console/plans", {"department": "public-works"}).json()["features"] == []
    assert client.get("/api/console/plans", {"date": "2001-01-01"}).json()["features"] == []
    assert client.get("/api/console/plans", {"date": "soon"}).status_code == 400
    client.force_login(staff["parks"])
    assert client.get("/api/console/plans").json()["features"] == []
