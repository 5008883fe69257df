"""The audit log: each staff action leaves exactly one row (who, what, which object, department, from where);
a refused or failed action leaves none; no secret is ever stored; supervisors read their departments' rows and
admins all, through GET /api/audit."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from gis.audit.models import AuditEvent
from gis.models import Department
from tests.field.crew_setup import catalogue, dispatched, people, report  # noqa: F401, F811
from workorders import field_edits
from workorders.models import DepartmentRole, ServiceRequest, WorkOrder

pytestmark = pytest.mark.django_db
BROWSER = {"HTTP_USER_AGENT": "Console/1.0 (audit test)", "REMOTE_ADDR": "203.0.113.7"}


def post(client, url: str, body: dict | None = None):
    return client.post(url, json.dumps(body or {}), content_type="application/json", **BROWSER)


def rows(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


@pytest.fixture
def staff(people):  # noqa: F811
    for name in ("dana", "sam"):  # the console needs staff accounts
        people[name].is_staff = True
        people[name].save(update_fields=["is_staff"])
    AuditEvent.objects.all().delete()  # the fixtures' own role grants
    return people


def test_an_assignment_is_one_row_with_who_where_and_before_after(client, staff, dispatched):  # noqa: F811
    wo = dispatched()  # on lights-1
    AuditEvent.objects.all().delete()
    client.force_login(staff["dana"])
    answer = post(client, f"/api/work-orders/{wo.pk}/assign", {"crew": staff["other_crew"].pk})
    assert answer.status_code == 200, answer.content
    [event] = rows()  # the reassignment's two steps (back to ready, dispatched) are one action
    assert (event.action, event.actor, event.object_type, event.object_id) == (
        "work_order.assign", staff["dana"], "work_order", str(wo.pk))
    assert event.department_id == wo.department_id
    assert event.before == {"status": "dispatched", "crew": staff["crew"].pk}
    assert event.after["crew"] == staff["other_crew"].pk and event.after["status"] == "dispatched"
    assert (event.client_address, event.user_agent) == ("203.0.113.7", "Console/1.0 (audit test)")


def test_a_transition_is_one_row_and_refused_ones_leave_none(client, staff, dispatched):  # noqa: F811
    wo = dispatched()
    AuditEvent.objects.all().delete()
    client.force_login(staff["ana"])  # on the crew
    assert post(client, f"/api/work-orders/{wo.pk}/transition", {"to": "closed"}).status_code == 403  # role
    assert post(client, f"/api/work-orders/{wo.pk}/transition", {"to": "ready"}).status_code == 403
    assert post(client, f"/api/work-orders/{wo.pk}/transition", {"to": "completed"}).status_code == 409  # table
    client.force_login(staff["carl"])  # the other crew: cannot see it
    assert post(client, f"/api/work-orders/{wo.pk}/transition", {"to": "en_route"}).status_code == 404
    assert rows() == []
    client.force_login(staff["ana"])
    assert post(client, f"/api/work-orders/{wo.pk}/transition", {"to": "en_route"}).status_code == 200
    [event] = rows()
    assert (event.action, event.actor_label, event.summary) == (
        "work_order.transition", "ana", "dispatched -> en_route")


def test_triage_actions_are_one_row_each(client, staff, report):  # noqa: F811
    client.force_login(staff["dana"])
    first, second = report(dx=2), report(dx=4)
    assert post(client, f"/api/console/requests/{first.pk}/work-order").status_code == 201
    assert post(client, f"/api/console/requests/{second.pk}/merge", {"into": first.reference}).status_code == 200
    third = report(dx=300)
    assert post(client, f"/api/console/requests/{third.pk}/reclassify",
                {"service": "streetlight-outage"}).status_code == 409  # already that service: refused
    assert post(client, f"/api/console/requests/{third.pk}/reclassify", {"service": "graffiti"}).status_code == 200
    actions = [(e.action, e.object_id) for e in rows()]
    assert actions == [("work_order.create", str(ServiceRequest.objects.get(pk=first.pk).work_order_id)),
                       ("request.merge", str(second.pk)), ("request.reclassify", str(third.pk))]


def test_conflict_resolution_and_field_edits_are_recorded(client, staff, dispatched):  # noqa: F811
    wo = dispatched()
    base = WorkOrder.objects.get(pk=wo.pk).version
    for text in ("gate code 1234", "use the back gate"):  # the second clashes with the first
        field_edits.work_order_edit(work_order_id=wo.pk, changes={"site_notes": text}, base_version=base,
                                    actor=staff["ana"], actor_label="ana")
    conflict = WorkOrder.objects.get(pk=wo.pk).conflicts.get()
    AuditEvent.objects.all().delete()
    client.force_login(staff["sam"])
    answer = post(client, f"/api/work-orders/{wo.pk}/conflicts/{conflict.pk}/resolve", {"choose": "yours"})
    assert answer.status_code == 200, answer.content
    assert post(client, f"/api/work-orders/{wo.pk}/conflicts/{conflict.pk}/resolve",
                {"choose": "yours"}).status_code == 409  # settled already: no second row
    [event] = rows()
    assert event.action == "conflict.resolve" and event.after == {"chosen": "use the back gate"}


def test_a_day_plan_request_is_recorded_and_refused_ones_are_not(client, staff):
    client.force_login(staff["ana"])
    assert post(client, "/api/departments/street-lighting/day-plans").status_code == 403
    client.force_login(staff["dana"])
    assert post(client, "/api/departments/street-lighting/day-plans", {"seconds": 400}).status_code == 400
    assert rows() == []
    assert post(client, "/api/departments/street-lighting/day-plans").status_code == 202
    [event] = rows()
    assert (event.action, event.department_id) == ("day_plan.request", staff["crew"].department_id)


def test_api_keys_roles_and_groups_are_recorded_without_secrets(staff, capsys):
    call_command("open311_key", "create", "Neighbourhood app")
    key = capsys.readouterr().out.splitlines()[0].split()[-1]  # shown once to the operator
    [created] = rows(action="api_key.create")
    assert created.actor_label == "manage.py" and "Neighbourhood app" in created.summary
    call_command("open311_key", "revoke", created.after["prefix"])
    assert len(rows(action="api_key.revoke")) == 1
    lights = Department.objects.get(code="street-lighting")
    role = DepartmentRole.objects.create(user=staff["olga"], department=lights, role="viewer")
    role.delete()
    Group.objects.get_or_create(name="GIS editors")[0].user_set.add(staff["olga"])
    assert [e.action for e in rows(object_type="user")] == ["role.grant", "role.revoke", "role.grant"]
    stored = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert key not in stored and key[8:] not in stored


def test_admin_changes_are_mirrored_once(client, staff, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "boss@example.city", "pw")
    client.force_login(boss)
    answer = client.post("/admin/auth/group/add/", {"name": "Night shift"}, **BROWSER)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    group = Group.objects.get(name="Night shift")
    [event] = rows(action__startswith="admin.")
    assert (event.action, event.actor, event.object_type, event.object_id) == (
        "admin.add", boss, "auth.group", str(group.pk))
    assert event.client_address == "203.0.113.7"


def test_supervisors_read_their_departments_log_and_admins_all(client, staff, dispatched, django_user_model):  # noqa: F811
    wo = dispatched()
    elsewhere = AuditEvent.objects.create(actor_label="someone", action="work_order.assign", object_type="work_order",
                                          object_id="1", department_id=Department.objects.get(code="parks").pk)
    client.force_login(staff["sam"])
    body = client.get("/api/audit", {"action": "work_order"}).json()
    assert {e["object_id"] for e in body["events"]} == {str(wo.pk)} and body["count"] == 1
    assert client.get("/api/audit", {"object_id": elsewhere.object_id, "department": "parks"}).json()["count"] == 0
    assert client.get("/api/audit", {"department": "nowhere"}).status_code == 400
    for name in ("dana", "ana", "olga"):  # a dispatcher, a crew member, someone with no role
        client.force_login(staff[name])
        assert client.get("/api/audit").status_code == 403
    client.logout()
    assert client.get("/api/audit").status_code in (401, 403)
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.city", "pw"))
    body = client.get("/api/audit", {"action": "work_order.assign"}).json()
    assert {e["object_id"] for e in body["events"]} == {str(wo.pk), "1"}


def test_the_log_is_read_only_in_the_admin(client, staff, django_user_model):
    event = AuditEvent.objects.create(actor_label="x", action="role.grant", object_type="user", object_id="1")
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.city", "pw"))
    assert client.get("/admin/audit/auditevent/").status_code == 200
    assert client.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200  # a view, no form
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/audit/auditevent/add/").status_code == 403


def test_a_wfs_t_edit_is_mirrored_from_its_edit_record(client, staff, django_user_model):
    from gis import editing
    from gis.models import EditRecord
    from tests.roles.matrix import WFS_INSERT
    from tests.work.conftest import BASE_X, BASE_Y

    editor = django_user_model.objects.create_user("gus", is_staff=True)
    editor.groups.add(editing.gis_editors_group())
    AuditEvent.objects.all().delete()
    client.force_login(editor)
    body = WFS_INSERT.format(asset_x=BASE_X + 30, asset_y=BASE_Y + 30).encode()
    answer = client.generic("POST", "/wfs/?SERVICE=WFS", body, content_type="text/xml", **BROWSER)
    assert answer.status_code == 200, answer.content
    record = EditRecord.objects.get()
    [event] = rows()
    assert (event.action, event.actor, event.object_type, event.object_id) == (
        "gis.insert", editor, "asset_streetlight", str(record.object_id))
    assert "geom" not in event.after and event.after["external_id"] == "L-matrix"
    client.force_login(staff["dana"])  # not an editor: refused, nothing recorded
    assert client.generic("POST", "/wfs/?SERVICE=WFS", body, content_type="text/xml").status_code == 403
    assert len(rows()) == 1


def test_values_named_like_secrets_are_never_stored(staff):
    from gis.audit.services import audit_record

    event = audit_record(action="admin.change", actor=staff["sam"], object_type="user", object_id=1,
                         before={"password": "pbkdf2$x", "nested": {"api_key": "k-123", "token": "t"}},
                         after={"name": "kept"})
    assert event.before == {"password": "[hidden]", "nested": {"api_key": "[hidden]", "token": "[hidden]"}}
    assert event.after == {"name": "kept"}
