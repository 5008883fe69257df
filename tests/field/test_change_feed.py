"""The change feed as a tablet pulls it: only what changed, tombstones when work leaves the crew, pages,
cursors it no longer keeps, and no change skipped when transactions commit out of order."""

import time

import psycopg
import pytest
from django.db import connection

from tests.field.crew_setup import *  # noqa: F403 (the fixtures)
from workorders.models import WorkOrder
from workorders.work import work_order_assign, work_order_transition


def pull(client, cursor: str, **params) -> dict:
    response = client.get("/api/field/changes", {"since": cursor} | params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db(transaction=True)  # the feed reads what other transactions committed
def test_a_tablet_gets_what_changed_and_a_tombstone_when_work_leaves_its_crew(client, people, dispatched):
    first, second = dispatched(dx=2), dispatched(dx=42)
    client.force_login(people["ana"])
    snapshot = client.get("/api/field/work-orders").json()
    assert {d["id"] for d in snapshot["work_orders"]} == {first.pk, second.pk}
    quiet = pull(client, snapshot["cursor"])
    assert quiet["changes"] == [] and quiet["has_more"] is False
    # The dispatcher writes new instructions on one, and gives the other to another crew.
    WorkOrder.objects.filter(pk=first.pk).update(instructions="the lamp at the corner", version=first.version + 1)
    work_order_assign(work_order_id=second.pk, crew_id=people["other_crew"].pk, actor=people["dana"])
    changes = pull(client, quiet["next_cursor"])
    by_id = {c["id"]: c for c in changes["changes"]}
    assert by_id[first.pk]["op"] == "upsert" and by_id[first.pk]["data"]["instructions"] == "the lamp at the corner"
    assert by_id[second.pk] == {"type": "work_order", "id": second.pk, "op": "delete", "reason": "out_of_scope"}
    assert len(changes["changes"]) == 2  # each work order once, however many rows it left
    client.force_login(people["carl"])
    theirs = client.get("/api/field/work-orders").json()
    assert [d["id"] for d in theirs["work_orders"]] == [second.pk]
    assert client.get(f"/api/field/work-orders/{second.pk}").status_code == 200


@pytest.mark.django_db(transaction=True)  # the feed reads what other transactions committed
def test_the_feed_comes_in_pages_and_refuses_cursors_it_did_not_give(client, people, dispatched):
    orders = [dispatched(dx=dx) for dx in (2, 42, 82)]
    client.force_login(people["ana"])
    cursor = client.get("/api/field/work-orders").json()["cursor"]
    for wo in orders:
        work_order_transition(work_order_id=wo.pk, to="en_route", actor=people["ana"])
    seen, pages = [], 0
    while True:
        page = pull(client, cursor, limit=1)
        seen += [c["id"] for c in page["changes"]]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            break
    assert sorted(set(seen)) == sorted(wo.pk for wo in orders) and pages >= 3
    assert pull(client, cursor)["changes"] == []
    assert client.get("/api/field/changes", {"since": "nonsense"}).json()["code"] == "cursor_invalid"
    assert client.get("/api/field/changes").status_code == 400
    old = f"1-0-{int(time.time()) - 40 * 86_400}"
    expired = client.get("/api/field/changes", {"since": old})
    assert expired.status_code == 410 and expired.json()["code"] == "cursor_expired"


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_late_is_not_skipped(client, people, dispatched):
    """Transaction A takes the lower sequence number but commits after B. A reader between the two must not
    move its cursor past A's row: it waits for A, then gets both."""
    early, late = dispatched(dx=2), dispatched(dx=42)
    client.force_login(people["ana"])
    cursor = client.get("/api/field/work-orders").json()["cursor"]
    s = connection.settings_dict
    other = psycopg.connect(host=s["HOST"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"], dbname=s["NAME"])
    try:
        other.execute("UPDATE workorders_workorder SET site_notes = 'slow writer', version = version + 1 "
                      "WHERE id = %s", [early.pk])  # A: open, its feed row not yet committed
        WorkOrder.objects.filter(pk=late.pk).update(site_notes="fast writer", version=late.version + 1)  # B
        between = pull(client, cursor)
        assert between["changes"] == []  # B waits behind A rather than passing it
        other.commit()
        after = pull(client, between["next_cursor"])
        notes = {c["id"]: c["data"]["site_notes"] for c in after["changes"]}
        assert notes == {early.pk: "slow writer", late.pk: "fast writer"}
    finally:
        other.close()
