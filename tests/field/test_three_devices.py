"""Two tablets of one crew and a dispatcher edit the same work order while apart; when they meet again
no edit is lost, the fields that did not clash are merged, and the clashes are flagged for a supervisor."""

import pytest
from django.db.models import F
from django.test import Client

from tests.field.crew_setup import *  # noqa: F403 (the fixtures)
from tests.field.crew_setup import here, mutation
from workorders.models import MaterialUsage, WorkOrder, WorkOrderConflict, WorkOrderEvent, WorkOrderNote


@pytest.mark.django_db(transaction=True)  # each device is its own connection and transaction, as in life
def test_two_tablets_and_a_dispatcher_apart_lose_nothing_and_the_clash_is_flagged(people, dispatched):
    wo = dispatched()
    task = wo.tasks.get()
    tablet_a, tablet_b, dispatcher = Client(), Client(), Client()
    tablet_a.force_login(people["ana"])
    tablet_b.force_login(people["ben"])
    dispatcher.force_login(people["dana"])
    # Both tablets download the day while online: they hold version v.
    for tablet in (tablet_a, tablet_b):
        assert tablet.get("/api/field/work-orders").json()["work_orders"][0]["version"] == wo.version
    cursor_b = tablet_b.get("/api/field/manifest").json()["cursor"]
    v = wo.version

    # Apart: the dispatcher (online) rewrites the instructions and the site notes.
    edit = dispatcher.patch(f"/api/work-orders/{wo.pk}", {"instructions": "replace the head, not the pole",
                                                          "site_notes": "gate code 4412"},
                            content_type="application/json", HTTP_IF_MATCH=f'"{v}"')
    assert edit.status_code == 200
    # Tablet A, in a basement, starts the job, finds the lamp poor, notes it, uses a lamp head, finishes.
    outbox_a = [
        mutation("transition", wo.pk, data={"to": "in_progress"}, position=here(), minutes_ago=50),
        mutation("edit", wo.pk, base_version=v, data={"tasks": {str(task.pk): {"condition": "poor"}}},
                 minutes_ago=45),
        mutation("note", wo.pk, data={"text": "A: housing cracked"}, minutes_ago=44),
        mutation("material", wo.pk, data={"item": "LED head 40W", "quantity": 1, "unit": "ea"}, minutes_ago=30),
        mutation("transition", wo.pk, data={"to": "completed", "resolution": "fixed"}, position=here(2),
                 minutes_ago=20),
    ]
    # Tablet B, in a dead zone across the street, rates the same lamp failed and rewrites the site notes.
    outbox_b = [
        mutation("transition", wo.pk, data={"to": "in_progress", "note": "B: on site"}, minutes_ago=48),
        mutation("edit", wo.pk, base_version=v, data={"tasks": {str(task.pk): {"condition": "failed"}},
                                                      "site_notes": "dog in the yard"}, minutes_ago=40),
        mutation("note", wo.pk, data={"text": "B: pole base rusted"}, minutes_ago=39),
    ]

    # They come back into coverage: A first, then B.
    results_a = tablet_a.post("/api/field/sync", {"device_id": "tablet-a", "mutations": outbox_a},
                              content_type="application/json").json()["results"]
    assert [r["status"] for r in results_a] == ["applied", "merged", "applied", "applied", "applied"]
    results_b = tablet_b.post("/api/field/sync", {"device_id": "tablet-b", "mutations": outbox_b},
                              content_type="application/json").json()["results"]
    # B's start comes after A finished: refused by the state machine, but B's words are kept as a note.
    assert [(r["status"], r.get("code")) for r in results_b] == [("rejected", "not_allowed"), ("conflict", None),
                                                                 ("applied", None)]
    clashes = {c["field"]: c for c in results_b[1]["conflicts"]}
    assert clashes[f"tasks.{task.pk}.condition"]["theirs"] == "poor"
    assert clashes[f"tasks.{task.pk}.condition"]["yours"] == "failed"
    assert clashes["site_notes"]["theirs"] == "gate code 4412" and clashes["site_notes"]["yours"] == "dog in the yard"

    # Nothing lost: every value written by anyone is on the work order or in a conflict.
    wo.refresh_from_db()
    # Streetlight work closes on completion.
    assert wo.status == "closed" and wo.instructions == "replace the head, not the pole"
    assert wo.site_notes == "gate code 4412" and wo.tasks.get().condition == "poor"
    assert wo.open_conflicts == 2 and WorkOrderConflict.objects.filter(work_order=wo, status="open").count() == 2
    assert set(WorkOrderNote.objects.filter(work_order=wo).values_list("text", flat=True)) == {
        "A: housing cracked", "B: pole base rusted", "B: on site"}
    assert MaterialUsage.objects.filter(work_order=wo).count() == 1
    moves = WorkOrderEvent.objects.filter(work_order=wo).exclude(from_status=F("to_status"))
    assert moves.filter(to_status="in_progress").count() == moves.filter(to_status="completed").count() == 1

    # Tablet B learns of it from the feed; the supervisor's list shows both clashes.
    changes = tablet_b.get("/api/field/changes", {"since": cursor_b}).json()["changes"]
    [doc] = [c["data"] for c in changes if c["id"] == wo.pk]
    assert doc["open_conflicts"] == 2 and {c["field"] for c in doc["conflicts"]} == set(clashes)
    supervisor = Client()
    supervisor.force_login(people["sam"])
    listed = supervisor.get("/api/work-orders/conflicts").json()["conflicts"]
    assert {c["field"] for c in listed} == set(clashes)
    console = dispatcher.get(f"/api/work-orders/{wo.pk}").json()["properties"]  # what the console shows
    assert console["open_conflicts"] == 2 and {c["yours"] for c in console["conflicts"]} == {"failed",
                                                                                              "dog in the yard"}
    assert len(console["notes"]) == 3 and console["materials"][0]["item"] == "LED head 40W"

    # Each tablet sends its outbox again (it never saw the answers): nothing changes.
    version = WorkOrder.objects.get(pk=wo.pk).version
    again = tablet_b.post("/api/field/sync", {"device_id": "tablet-b", "mutations": outbox_b},
                          content_type="application/json").json()["results"]
    assert all(r.get("replayed") for r in again) and again == [r | {"replayed": True} for r in results_b]
    assert WorkOrder.objects.get(pk=wo.pk).version == version and WorkOrderNote.objects.count() == 3
