"""The crew API's rules, each as a tablet meets it: scope, documents, If-Match (428/412), idempotent
replay, device times, the state machine, batch results, merge and conflict, positions, tokens."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from tests.field.crew_setup import *  # noqa: F403 (the fixtures)
from tests.field.crew_setup import here, mutation
from workorders.models import (
    CrewPosition,
    MaterialUsage,
    WorkOrder,
    WorkOrderConflict,
    WorkOrderEvent,
    WorkOrderNote,
)

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def test_a_crew_member_sees_exactly_the_crews_work_with_everything_it_needs(client, people, dispatched):
    mine, theirs = dispatched(dx=2), dispatched(dx=42, crew="other_crew")
    body = signed_in(client, people["ana"]).get("/api/field/work-orders").json()
    assert [d["id"] for d in body["work_orders"]] == [mine.pk]
    doc = body["work_orders"][0]
    assert doc["status"] == "dispatched" and doc["crew"]["code"] == "lights-1" and doc["version"] == mine.version
    [task] = doc["tasks"]
    assert task["asset"]["external_id"] == "L-0" and -71.11 < task["asset"]["location"][0] < -71.10
    [request] = doc["requests"]
    assert request["routing"]["department"] == "street-lighting" and request["routing"]["explanation"]
    assert isinstance(request["utilities"], list)
    assert set(doc["next"]) == {"en_route", "in_progress", "on_hold"}  # a crew's steps, not the dispatcher's
    assert client.get(f"/api/field/work-orders/{theirs.pk}").status_code == 404  # another crew's
    assert client.get("/api/field/work-orders/999999").status_code == 404
    manifest = client.get("/api/field/manifest").json()
    assert [c["code"] for c in manifest["crews"]] == ["lights-1"] and len(manifest["map"]["bbox"]) == 4
    assert manifest["options"]["transitions"]["in_progress"] == ["completed", "on_hold"]
    assert task["asset"]["type"] == "streetlight"
    assert signed_in(client, people["dana"]).get("/api/field/manifest").status_code == 404  # not on a crew
    client.logout()
    assert client.get("/api/field/work-orders").status_code in (401, 403)


def test_get_has_the_version_as_etag_and_304_when_unchanged(client, people, dispatched):
    wo = dispatched()
    response = signed_in(client, people["ana"]).get(f"/api/field/work-orders/{wo.pk}")
    assert response["ETag"] == f'"{wo.version}"'
    assert client.get(f"/api/field/work-orders/{wo.pk}", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_patch_needs_if_match_and_a_stale_one_gets_412_with_the_current_state(client, people, dispatched):
    wo = dispatched()
    url = f"/api/field/work-orders/{wo.pk}"
    signed_in(client, people["ana"])
    missing = client.patch(url, {"site_notes": "gate code 1234"}, content_type="application/json")
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    ok = client.patch(url, {"site_notes": "gate code 1234"}, content_type="application/json",
                      HTTP_IF_MATCH=f'"{wo.version}"')
    assert ok.status_code == 200 and ok.json()["site_notes"] == "gate code 1234"
    assert ok["ETag"] == f'"{wo.version + 1}"'
    stale = client.patch(url, {"site_notes": "dog in the yard"}, content_type="application/json",
                         HTTP_IF_MATCH=f'"{wo.version}"')
    assert stale.status_code == 412
    body = stale.json()
    assert body["code"] == "stale" and body["current"]["site_notes"] == "gate code 1234"
    assert body["changed"] == {"site_notes": {"theirs": "gate code 1234", "version": wo.version + 1}}
    assert WorkOrder.objects.get(pk=wo.pk).site_notes == "gate code 1234"  # nothing written
    crew_may_not = client.patch(url, {"title": "x"}, content_type="application/json", HTTP_IF_MATCH=ok["ETag"])
    assert crew_may_not.status_code == 400 and crew_may_not.json()["code"] == "not_editable"
    for bad in ({"tasks": {"1": {"condition": "shiny"}}}, {"nope": 1}, [], {"site_notes": 7}):
        response = client.patch(url, bad, content_type="application/json", HTTP_IF_MATCH=ok["ETag"])
        assert response.status_code == 400 and response.json()["code"], bad
    assert client.patch(url, {"site_notes": "x"}, content_type="application/json",
                        HTTP_IF_MATCH="W/x").status_code == 400


def test_a_transition_is_done_once_per_idempotency_key(client, people, dispatched):
    wo = dispatched()
    url = f"/api/field/work-orders/{wo.pk}/transitions"
    body = {"to": "in_progress", "occurred_at": (timezone.now() - dt.timedelta(minutes=12)).isoformat()} | here()
    signed_in(client, people["ana"])
    assert client.post(url, body, content_type="application/json").json()["code"] == "idempotency_key_required"
    key = str(uuid.uuid4())
    first = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
    again = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json()["work_order"]["status"] == "in_progress"
    assert first.json()["status"] == "applied"
    assert WorkOrderEvent.objects.filter(work_order=wo, to_status="in_progress").count() == 1
    reused = client.post(url, body | {"to": "on_hold"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


def test_a_request_with_a_key_still_in_flight_is_told_so(client, people, dispatched, django_db_blocker):
    import psycopg
    from django.db import connection

    wo = dispatched()
    key = str(uuid.uuid4())
    settings_dict = connection.settings_dict
    other = psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"], user=settings_dict["USER"],
                            password=settings_dict["PASSWORD"], dbname=settings_dict["NAME"], autocommit=True)
    try:
        # The first request with this key holds its lock (as it does while it runs).
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                      [f"idempotency:{people['ana'].pk}:key:{key}"])
        response = signed_in(client, people["ana"]).post(
            f"/api/field/work-orders/{wo.pk}/transitions",
            {"to": "in_progress", "occurred_at": timezone.now().isoformat()},
            content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 409 and response.json()["code"] == "in_flight"
        assert not WorkOrderEvent.objects.filter(work_order=wo, to_status="in_progress").exists()
    finally:
        other.close()


def test_history_and_sla_use_the_device_time_and_position(client, people, dispatched):
    wo = dispatched()
    started = timezone.now() - dt.timedelta(minutes=40)
    finished = timezone.now() - dt.timedelta(minutes=10)
    signed_in(client, people["ana"])
    batch = [mutation("transition", wo.pk, data={"to": "in_progress"}, position=here(), minutes_ago=40),
             mutation("transition", wo.pk, data={"to": "completed", "resolution": "fixed", "note": "new lamp"},
                      position=here(5), minutes_ago=10),
             # A tablet clock an hour ahead: the history keeps the server's now, and the device's word.
             ]
    batch[0]["occurred_at"], batch[1]["occurred_at"] = started.isoformat(), finished.isoformat()
    results = client.post("/api/field/sync", {"device_id": "tablet-a", "mutations": batch},
                          content_type="application/json").json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    wo.refresh_from_db()
    assert wo.actual_start == started and wo.actual_end == finished and wo.resolution == "fixed"
    done = WorkOrderEvent.objects.get(work_order=wo, to_status="completed")
    assert done.at == done.device_at == finished and done.received_at > finished and done.device_id == "tablet-a"
    assert done.position is not None and done.actor == people["ana"]
    request = wo.requests.get()
    assert request.status == "closed" and request.closed_at == finished  # the resident's case closes then


def test_a_device_clock_ahead_is_held_to_the_servers_clock(client, people, dispatched):
    wo = dispatched()
    ahead = mutation("transition", wo.pk, data={"to": "in_progress"}, minutes_ago=-60)
    signed_in(client, people["ana"]).post("/api/field/sync", {"mutations": [ahead]}, content_type="application/json")
    event = WorkOrderEvent.objects.get(work_order=wo, to_status="in_progress")
    assert event.device_at > timezone.now() and event.at <= event.received_at


def test_the_state_machine_decides_and_refusals_have_a_code(client, people, dispatched):
    wo = dispatched()
    signed_in(client, people["ana"])
    results = client.post("/api/field/sync", {"mutations": [
        mutation("transition", wo.pk, data={"to": "completed", "resolution": "fixed"}),  # not from dispatched
        mutation("transition", wo.pk, data={"to": "in_progress"}),
        mutation("transition", wo.pk, data={"to": "completed"}),  # no resolution
        mutation("transition", wo.pk, data={"to": "cancelled", "note": "no"}),  # dispatchers only
        mutation("transition", wo.pk, data={"to": "in_progress"}),  # already
    ]}, content_type="application/json").json()["results"]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("rejected", "not_allowed"), ("applied", None), ("rejected", "resolution_required"),
        ("rejected", "not_permitted"), ("noop", "already")]
    assert WorkOrder.objects.get(pk=wo.pk).status == "in_progress"


def test_a_batch_goes_on_past_bad_items_and_a_resent_batch_changes_nothing(client, people, dispatched):
    wo = dispatched()
    task = wo.tasks.get()
    batch = [mutation("note", wo.pk, data={"text": "lamp head cracked"}, position=here()),
             {"id": "not-a-uuid", "type": "note", "work_order": wo.pk, "occurred_at": timezone.now().isoformat()},
             mutation("material", wo.pk, data={"item": "LED lamp head", "quantity": 1, "unit": "ea", "task": task.pk}),
             mutation("material", wo.pk, data={"item": "fuse", "quantity": -2}),
             mutation("material", wo.pk, data={"item": "fuse", "quantity": 1, "task": 999_999}),
             mutation("edit", wo.pk, base_version=wo.version, data={"tasks": {str(task.pk): {"condition": "poor"}}}),
             mutation("note", 999_999, data={"text": "lost"}),
             mutation("position", position=here(3)),
             {"id": str(uuid.uuid4()), "type": "teleport"}]
    signed_in(client, people["ana"])
    first = client.post("/api/field/sync", {"device_id": "tablet-a", "mutations": batch},
                        content_type="application/json").json()["results"]
    assert [(r["status"], r.get("code")) for r in first] == [
        ("applied", None), ("rejected", "invalid"), ("applied", None), ("rejected", "invalid"),
        ("rejected", "unknown_task"), ("applied", None), ("rejected", "not_assigned"), ("applied", None),
        ("rejected", "invalid")]
    assert all(r.get("detail") for r in first if r["status"] == "rejected")
    counts = (WorkOrderNote.objects.count(), MaterialUsage.objects.count(), CrewPosition.objects.count(),
              WorkOrderEvent.objects.count(), WorkOrder.objects.get(pk=wo.pk).version)
    again = client.post("/api/field/sync", {"device_id": "tablet-a", "mutations": batch},
                        content_type="application/json").json()["results"]
    assert [r["status"] for r in again] == [r["status"] for r in first]
    assert [r.get("replayed") for r in again if r["status"] == "applied"] == [True] * 4
    assert counts == (WorkOrderNote.objects.count(), MaterialUsage.objects.count(), CrewPosition.objects.count(),
                      WorkOrderEvent.objects.count(), WorkOrder.objects.get(pk=wo.pk).version)
    assert counts[:2] == (1, 1)
    assert wo.tasks.get().condition == "poor"
    too_many = client.post("/api/field/sync", {"mutations": [batch[0]] * 201}, content_type="application/json")
    assert too_many.status_code == 413 and too_many.json()["code"] == "batch_too_large"
    assert client.post("/api/field/sync", {"mutations": "x"}, content_type="application/json").status_code == 400


def test_a_note_sent_twice_by_its_own_endpoint_is_one_note(client, people, dispatched):
    wo = dispatched()
    note = {"id": str(uuid.uuid4()), "text": "hydrant leaking", "occurred_at": timezone.now().isoformat()}
    signed_in(client, people["ana"])
    first = client.post(f"/api/field/work-orders/{wo.pk}/notes", note, content_type="application/json")
    assert first.status_code == 201
    again = client.post(f"/api/field/work-orders/{wo.pk}/notes", note, content_type="application/json")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert WorkOrderNote.objects.filter(work_order=wo).count() == 1
    material = {"id": str(uuid.uuid4()), "item": "cold patch", "quantity": "2.5", "unit": "bag",
                "occurred_at": timezone.now().isoformat()}
    assert client.post(f"/api/field/work-orders/{wo.pk}/materials", material,
                       content_type="application/json").status_code == 201
    assert client.post(f"/api/field/work-orders/{wo.pk}/materials", material | {"quantity": "0"},
                       content_type="application/json").status_code == 400


def test_edits_on_different_fields_merge_and_a_clash_is_kept_as_a_conflict(client, people, dispatched):
    wo = dispatched()
    task = wo.tasks.get()
    base = wo.version
    signed_in(client, people["ana"])
    a = client.post("/api/field/sync", {"mutations": [
        mutation("edit", wo.pk, base_version=base, data={"tasks": {str(task.pk): {"condition": "poor"}}})]},
        content_type="application/json").json()["results"][0]
    assert a["status"] == "applied"
    signed_in(client, people["ben"])
    b = client.post("/api/field/sync", {"device_id": "tablet-b", "mutations": [
        mutation("edit", wo.pk, base_version=base, data={"site_notes": "ladder needed"}),
        mutation("edit", wo.pk, base_version=base, data={"tasks": {str(task.pk): {"condition": "failed"}}})]},
        content_type="application/json").json()["results"]
    assert b[0]["status"] == "merged"
    assert b[1]["status"] == "conflict"
    [clash] = b[1]["conflicts"]
    assert clash["field"] == f"tasks.{task.pk}.condition" and clash["theirs"] == "poor" and clash["yours"] == "failed"
    wo.refresh_from_db()
    assert wo.site_notes == "ladder needed" and wo.tasks.get().condition == "poor" and wo.open_conflicts == 1
    doc = client.get(f"/api/field/work-orders/{wo.pk}").json()
    assert doc["open_conflicts"] == 1 and doc["conflicts"][0]["yours"] == "failed"
    # The supervisor settles it: the later value; the tablets see a new version.
    signed_in(client, people["sam"])
    listed = client.get("/api/work-orders/conflicts").json()["conflicts"]
    assert [c["id"] for c in listed] == [clash["id"]]
    settled = client.post(f"/api/work-orders/{wo.pk}/conflicts/{clash['id']}/resolve",
                          {"choose": "yours", "note": "photo shows it dead"}, content_type="application/json")
    assert settled.status_code == 200 and settled.json()["chosen"] == "failed"
    wo.refresh_from_db()
    assert wo.tasks.get().condition == "failed" and wo.open_conflicts == 0 and wo.version == settled.json()["version"]
    assert WorkOrderConflict.objects.get().resolved_by == people["sam"]
    twice = client.post(f"/api/work-orders/{wo.pk}/conflicts/{clash['id']}/resolve", {"choose": "theirs"},
                        content_type="application/json")
    assert twice.status_code == 409 and twice.json()["code"] == "conflict_resolved"
    signed_in(client, people["ana"])
    assert client.post(f"/api/work-orders/{wo.pk}/conflicts/{clash['id']}/resolve", {"choose": "theirs"},
                       content_type="application/json").status_code in (403, 404)


def test_the_dispatcher_edits_with_if_match_too(client, people, dispatched):
    wo = dispatched()
    signed_in(client, people["dana"])
    url = f"/api/work-orders/{wo.pk}"
    unguarded = client.patch(url, {"instructions": "use the bucket truck"}, content_type="application/json")
    assert unguarded.status_code == 428
    done = client.patch(url, {"instructions": "use the bucket truck", "priority": 1}, content_type="application/json",
                        HTTP_IF_MATCH=f'"{wo.version}"')
    assert done.status_code == 200 and done.json()["instructions"] == "use the bucket truck"
    assert WorkOrder.objects.get(pk=wo.pk).priority == 1


def test_positions_are_a_track_and_a_late_ping_does_not_move_the_crew_back(client, people, dispatched):
    signed_in(client, people["ana"])
    now = timezone.now()
    pings = [here(0) | {"at": (now - dt.timedelta(minutes=1)).isoformat()},
             here(50) | {"at": (now - dt.timedelta(minutes=10)).isoformat()}]
    assert client.post("/api/field/positions", {"pings": pings}, content_type="application/json").status_code == 201
    crew = people["crew"]
    crew.refresh_from_db()
    assert CrewPosition.objects.filter(crew=crew).count() == 2 and crew.last_seen_at == now - dt.timedelta(minutes=1)
    bad = client.post("/api/field/positions", {"pings": [pings[0], {"lon": 500, "lat": 1, "at": now.isoformat()}]},
                      content_type="application/json")
    assert bad.status_code == 400 and CrewPosition.objects.filter(crew=crew).count() == 2


def test_a_tablet_signs_in_with_a_token(client, people, dispatched):
    dispatched()
    token = client.post("/api/field/token", {"username": "ana", "password": "pw-ana"}).json()["token"]
    body = client.get("/api/field/work-orders", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert len(body["work_orders"]) == 1
    assert client.post("/api/field/token", {"username": "ana", "password": "wrong"}).status_code == 400
    assert client.get("/api/field/manifest", HTTP_AUTHORIZATION="Token nope").status_code == 401


def test_malformed_batches_are_clear_400s_and_change_nothing(client, people, dispatched):
    wo = dispatched()
    signed_in(client, people["ana"])
    assert client.post("/api/field/sync", [1, 2], content_type="application/json").json()["code"] == "invalid"
    assert client.post("/api/field/positions", [1], content_type="application/json").status_code == 400
    assert client.post("/api/field/sync", "{not json", content_type="application/json").status_code == 400
    bad = [mutation("note", wo.pk, data={"text": "nul \x00 byte"}),
           mutation("note", 2**70, data={"text": "huge id"}),
           mutation("edit", wo.pk, base_version=2**70, data={"site_notes": "x"}),
           mutation("edit", wo.pk, base_version=wo.version, data={"site_notes": "a\x00b"}),
           mutation("edit", wo.pk, base_version=wo.version, data={"tasks": {"9" * 30: {"condition": "poor"}}}),
           mutation("material", wo.pk, data={"item": "x", "quantity": "NaN"}),
           mutation("material", wo.pk, data={"item": "x", "quantity": 1, "task": 2**70}),
           mutation("transition", wo.pk, data={"to": "in_progress", "note": "\x00"}),
           mutation("note", wo.pk, data={"text": "old clock"}) | {"occurred_at": "1970-01-01T00:00:00Z"},
           mutation("note", wo.pk, data={"text": "bad date"}) | {"occurred_at": "2026-13-45T10:00:00Z"},
           mutation("position", position={"lon": "NaN", "lat": 1}),
           mutation("position", position={"lon": 10, "lat": 10})]  # outside the area served
    version = WorkOrder.objects.get(pk=wo.pk).version
    results = client.post("/api/field/sync", {"mutations": bad}, content_type="application/json").json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * len(bad), results
    assert all(r["code"] and r["detail"] for r in results)
    assert WorkOrderNote.objects.count() == MaterialUsage.objects.count() == CrewPosition.objects.count() == 0
    assert WorkOrder.objects.get(pk=wo.pk).version == version
