"""The crews' tablet app (/field/) in headless Chromium, against the real crew API: signed in, the service worker in
control, the network cut mid-shift (DevTools offline emulation), two work orders started and completed, an asset's
condition, a material, notes and a photo recorded offline, the page reloaded without a network, then the network
back: the server has every edit exactly once with the device's times, and the dispatcher console shows it."""

import datetime as dt
import hashlib
import io
import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.utils import timezone
from PIL import Image

from gis import crs
from gis.models import Asset, AssetType, Department
from tests.e2e.conftest import login, screenshot
from tiles import cache as tile_cache
from workorders import field_edits, linking, services
from workorders.day_plans import day_plan_make
from workorders.models import (
    Crew,
    DepartmentRole,
    MaterialUsage,
    ServiceRequest,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderNote,
    WorkOrderPhoto,
    WorkOrderTask,
)
from workorders.services import RequestInput, request_create
from workorders.work import work_order_assign, work_order_create, work_order_transition

pytestmark = pytest.mark.django_db(transaction=True)  # the browser reads through the live server's threads

# Boston City Hall Plaza; the lamps and reports are placed in metres east of it (storage CRS), so the
# crew's stops are a short walk apart and all inside the offline map area.
LON, LAT = -71.0580, 42.3603
PASSWORD = "lamps-and-ladders"
CATALOGUE = {"services": [
    # Completed work stays "completed" (not closed at once), so its requests stay on the dispatcher's map.
    {"code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
     "asset_types": ["streetlight"], "snap_distance_m": 30, "sla_hours": 72, "work_order_mode": "auto",
     "task_minutes": 45, "close_on_complete": False},
]}
APP_READY = "window.fieldsvcField && window.fieldsvcField.ready"
# What the browser itself logs for requests the offline emulation fails: expected while offline.
OFFLINE_NOISE = ("net::ERR_INTERNET_DISCONNECTED", "Failed to load resource")


def lonlat(dx: float, dy: float = 0.0) -> tuple[float, float]:
    x, y = crs.storage_point(LON, LAT)
    point = Point(x + dx, y + dy, srid=crs.storage_srid())
    point.transform(4326)
    return point.x, point.y


def jpeg(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(autouse=True)
def fresh_tiles():
    """This database's cached tiles retired: earlier runs drew other rows at these addresses."""
    for layer in ("work_orders", "assets", "requests", "neighbourhoods"):
        cache.set(tile_cache._generation_key(layer), timezone.now().timestamp(), None)


@pytest.fixture
def crew_day(registry, settings, tmp_path):  # noqa: F811 - pytest-django's settings fixture
    """A street-lighting crew with Ana on it, a dispatcher, and three lamp outages dispatched to the crew."""
    settings.MEDIA_ROOT = tmp_path
    services.catalogue_load(data=CATALOGUE)
    lights = Department.objects.get(code="street-lighting")
    lamp = AssetType.objects.get(code="streetlight")
    x, y = crs.storage_point(LON, LAT)
    users = get_user_model().objects
    ana = users.create_user("ana", password=PASSWORD, first_name="Ana", last_name="Reyes")
    dana = users.create_user("dana", is_staff=True)
    DepartmentRole.objects.create(user=dana, department=lights, role="dispatcher")
    crew = Crew.objects.create(code="lights-1", name="Lights 1", department=lights, shift_start=dt.time(0),
                               shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7],
                               depot=Point(x - 200, y - 150, srid=crs.storage_srid()))
    crew.members.add(ana)
    for n, (dx, words) in enumerate([(0, "Lamp dark by the plaza steps"), (250, "Lamp flickering all night"),
                                     (500, "Lamp post leaning")]):
        Asset.objects.create(asset_type=lamp, external_id=f"L-{n}", geom=Point(x + dx, y, srid=crs.storage_srid()))
        lon, lat = lonlat(dx + 2, 3)
        request, _ = request_create(service=services.Service.objects.get(code="streetlight-outage"), data=RequestInput(
            lat=lat, long=lon, description=words, address_string=f"{n + 1} City Hall Plaza", require_answers=False,
            check_duplicates=False))
        assert linking.request_link(request_id=request.pk) == "linked"
        request = ServiceRequest.objects.select_related("link", "service").get(pk=request.pk)
        wo = work_order_create(requests=[request], actor_label="intake")
        work_order_assign(work_order_id=wo.pk, crew_id=crew.pk, actor=dana)
    # Today's plan orders the stops and draws the route; the tests take the work in that order.
    plan = day_plan_make(department_id=lights.pk, seconds=1)
    order = list(plan.stops.filter(crew=crew).order_by("sequence").values_list("work_order_id", flat=True))
    assert len(order) == 3
    work = [WorkOrder.objects.get(pk=pk) for pk in order]
    return {"ana": ana, "dana": dana, "crew": crew, "work": work}


def sign_in(page, username: str) -> None:
    """Through the app's own sign-in page (crew members are not staff)."""
    page.goto("/field/")
    assert "/field/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")
    page.wait_for_selector(".error[role=alert]")
    screenshot(page, "field-login")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/field/")
    page.wait_for_function(APP_READY, timeout=20000)


def under_service_worker(page) -> None:
    """Wait for the worker, reload so it controls the page, and wait for the app again."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=10000)
    page.wait_for_function(APP_READY, timeout=20000)


def sync_text(page) -> str:
    return page.inner_text("#sync")


def outbox(page) -> list[dict]:
    return page.evaluate("window.fieldsvcField.data.outbox.map(i => i.mutation)")


def open_card(page, wo_id: int) -> None:
    page.click(f"#work-orders a[data-work-order='{wo_id}']")
    page.wait_for_selector(f".detail-screen[data-work-order='{wo_id}']")


def step(page, to: str) -> None:
    page.click(f".steps button[data-step='{to}']")


def complete(page, wo_id: int, resolution: str, note: str) -> None:
    step(page, "completed")
    page.click(f"#step-panel input[value='{resolution}']")
    page.fill("#step-panel textarea", note)
    page.click("#step-confirm")
    page.wait_for_selector(f".detail-screen[data-work-order='{wo_id}'][data-status='completed']")


def real_errors(page) -> list[str]:
    return [e for e in page.errors if not any(noise in e for noise in OFFLINE_NOISE)]


def test_a_crew_works_offline_and_every_edit_reaches_the_server_once(browser_page, client, crew_day):
    page = browser_page
    first, second, third = crew_day["work"]
    page.context.grant_permissions(["geolocation"])
    here = lonlat(-150, -100)  # at the depot
    page.context.set_geolocation({"longitude": here[0], "latitude": here[1], "accuracy": 8})
    sign_in(page, "ana")
    under_service_worker(page)
    page.wait_for_selector(f"#work-orders a[data-work-order='{third.pk}']")
    assert "All changes saved" in sync_text(page)
    cards = page.eval_on_selector_all("#work-orders a", "cards => cards.map(c => Number(c.dataset.workOrder))")
    assert sorted(cards) == sorted(wo.pk for wo in crew_day["work"])
    # The next stop: the first one, its distance and bearing from the depot, and the navigation app's link.
    next_stop = page.inner_text(".next-stop")
    assert first.title in next_stop and " m" in next_stop
    assert page.get_attribute("#navigate", "href").startswith("geo:")
    # The map area is kept for offline use (all its tiles fetched by the worker).
    page.wait_for_function("window.fieldsvcField.tiles && window.fieldsvcField.tiles.done"
                           " + window.fieldsvcField.tiles.failed === window.fieldsvcField.tiles.total", timeout=30000)
    assert page.evaluate("window.fieldsvcField.tiles.failed") == 0
    # A whole city at zoom 16 is too much to keep: the highest zooms are dropped and the crew is told.
    city = page.evaluate("import('/static/fieldsvc/field/mapview.js').then(m => m.areaTiles("
                         "window.fieldsvcField.map.style, {bbox: [-71.19, 42.23, -70.99, 42.4], min_zoom: 12,"
                         " max_zoom: 16})).then(r => [r.urls.length, r.maxZoom, r.tooBig])")
    assert city[0] <= 400 and city[1] < 16 and city[2] is True
    assert page.evaluate("document.querySelectorAll('.stop-marker').length") == 3
    assert page.evaluate("window.fieldsvcField.map.routeCount") == 1
    assert page.eval_on_selector_all("#work-orders .seq", "s => s.map(e => e.textContent)") == ["1", "2", "3"]
    screenshot(page, "field-list")

    # --- The network goes; the shift goes on ------------------------------------------------------------
    page.context.set_offline(True)
    page.wait_for_function("document.querySelector('#sync').dataset.state === 'offline'")
    assert sync_text(page) == "Offline — 0 changes waiting"

    open_card(page, first.pk)
    step(page, "in_progress")
    page.wait_for_selector(".detail-screen[data-status='in_progress']")
    task = WorkOrderTask.objects.get(work_order=first)
    page.click(f"li[data-task='{task.pk}'] button[data-condition='poor']")
    page.wait_for_selector(f"li[data-task='{task.pk}'] button[data-condition='poor'][aria-pressed='true']")
    page.fill("#material-form input[name=item]", "LED lamp")
    page.fill("#material-form input[name=quantity]", "2")
    page.select_option("#material-form select[name=unit]", "each")
    page.click("#material-form button[type=submit]")
    page.fill("#note-form textarea", "Photocell replaced as well")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector("ul.notes li.pending:has-text('Photocell replaced')")
    page.wait_for_selector("ul.materials li.pending:has-text('LED lamp')")
    screenshot(page, "field-detail-offline")
    complete(page, first.pk, "fixed", "New LED head fitted")

    page.click("main a.button[href='#/']")
    open_card(page, second.pk)
    step(page, "en_route")
    page.wait_for_selector(".detail-screen[data-status='en_route']")
    step(page, "in_progress")
    page.wait_for_selector(".detail-screen[data-status='in_progress']")
    picture = jpeg("orange")
    page.set_input_files("#photo-input", files=[{"name": "lamp.jpg", "mimeType": "image/jpeg", "buffer": picture}])
    page.wait_for_function("[...document.querySelectorAll('.photos figure.pending img')]"
                           ".some(i => i.complete && i.naturalWidth === 64)")
    complete(page, second.pk, "no_fault_found", "Lamp works, timer reset")
    screenshot(page, "field-completed-offline")

    queued = outbox(page)
    assert [(m["type"], m["work_order"]) for m in queued] == [
        ("transition", first.pk), ("edit", first.pk), ("material", first.pk), ("note", first.pk),
        ("transition", first.pk), ("transition", second.pk), ("transition", second.pk), ("transition", second.pk)]
    assert queued[1]["base_version"] == first.version
    assert queued[1]["data"] == {"tasks": {str(task.pk): {"condition": "poor"}}}
    assert sync_text(page) == "Offline — 9 changes waiting"  # eight edits and a photo

    # A reload without a network: the app, the work and the outbox are all still there.
    page.click("main a.button[href='#/']")
    page.reload()
    page.wait_for_function(APP_READY, timeout=20000)
    assert sync_text(page) == "Offline — 9 changes waiting"
    assert outbox(page) == queued
    # It came from the service worker's copies: its own fetches are cut too, not just the page's.
    assert page.evaluate("fetch('/api/field/work-orders').then(r => r.headers.get('X-Field-Cache'))") == "hit"
    assert page.evaluate("fetch('/api/field/changes?since=0').then(() => 'answered', () => 'failed')") == "failed"
    statuses = page.eval_on_selector_all("#work-orders a", "cards => cards.map(c => [Number(c.dataset.workOrder),"
                                         " c.dataset.status])")
    assert dict(statuses) == {first.pk: "completed", second.pk: "completed", third.pk: "dispatched"}
    open_card(page, second.pk)
    page.wait_for_function("[...document.querySelectorAll('.photos figure.pending img')]"
                           ".some(i => i.complete && i.naturalWidth === 64)")
    page.click("main a.button[href='#/']")
    screenshot(page, "field-reloaded-offline")

    # The server has none of it yet.
    assert {wo.status for wo in WorkOrder.objects.filter(pk__in=[first.pk, second.pk])} == {"dispatched"}
    assert not WorkOrderNote.objects.exists() and not MaterialUsage.objects.exists()
    assert not WorkOrderPhoto.objects.exists()

    # --- The network is back ------------------------------------------------------------------------------
    page.context.set_offline(False)
    page.wait_for_function("document.querySelector('#sync').dataset.state === 'saved'", timeout=30000)
    assert sync_text(page).startswith("All changes saved")
    assert outbox(page) == [] and page.evaluate("window.fieldsvcField.data.photos.length") == 0
    screenshot(page, "field-synced")
    page.set_viewport_size({"width": 800, "height": 1280})  # the tablet upright: one screen at a time
    screenshot(page, "field-portrait-list")
    page.click(".tabs a[href='#/map']")
    page.wait_for_function("window.fieldsvcField.map.map.loaded()")
    screenshot(page, "field-portrait-map")
    page.click(".tabs a[href='#/']")
    page.set_viewport_size({"width": 1280, "height": 800})

    by_id = {m["id"]: m for m in queued}
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.resolution, second.status, second.resolution) == (
        "completed", "fixed", "completed", "no_fault_found")
    for wo, steps in ((first, ["in_progress", "completed"]), (second, ["en_route", "in_progress", "completed"])):
        events = list(WorkOrderEvent.objects.filter(work_order=wo, client_id__isnull=False).order_by("at"))
        assert [e.to_status for e in events] == steps  # each exactly once
        for event in events:
            sent = by_id[str(event.client_id)]
            device_time = dt.datetime.fromisoformat(sent["occurred_at"])
            assert event.at == device_time and event.device_at == device_time
            assert event.at < event.received_at
            assert event.to_status == sent["data"]["to"]
    assert WorkOrderEvent.objects.filter(work_order__in=[first, second], client_id__isnull=False).count() == 5
    note = WorkOrderNote.objects.get()
    assert (str(note.pk), note.text, note.work_order_id) == (queued[3]["id"], "Photocell replaced as well", first.pk)
    material = MaterialUsage.objects.get()
    assert (material.item, material.quantity, material.unit, material.work_order_id) == ("LED lamp", 2, "each",
                                                                                         first.pk)
    assert WorkOrderTask.objects.get(pk=task.pk).condition == "poor"
    photo = WorkOrderPhoto.objects.get()
    assert photo.work_order_id == second.pk and photo.sha256 == hashlib.sha256(picture).hexdigest()
    assert hashlib.sha256(photo.file.read()).hexdigest() == photo.sha256
    # The tablet now shows the server's copy: the photo from the server, nothing pending.
    open_card(page, second.pk)
    page.wait_for_selector(f".photos figure[data-photo='{photo.pk}'] img")
    assert page.locator(".pending").count() == 0
    # No host but ours (None: the photo shown from its blob: URL, on the tablet itself).
    assert real_errors(page) == [] and page.seen_hosts <= {"localhost", None}

    # --- The dispatcher sees the completions ---------------------------------------------------------------
    console = page.context.browser.new_context(viewport={"width": 1280, "height": 800},
                                               base_url=page.url.split("/field/")[0])
    desk = console.new_page()
    login(desk, client, crew_day["dana"])
    for wo in (first, second):
        request = ServiceRequest.objects.get(work_order=wo)
        lon, lat = request.geom.transform(4326, clone=True).coords
        desk.goto(f"/console/#18/{lat}/{lon}")
        desk.wait_for_function("window.fieldsvcConsole.ready && window.fieldsvcConsole.map.loaded()"
                               " && window.fieldsvcConsole.map.areTilesLoaded()", timeout=15000)
        desk.wait_for_timeout(300)
        box = desk.locator("#map").bounding_box()
        desk.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        desk.wait_for_selector(f"#detail [data-work-order='{wo.pk}'][data-status='completed']")
        history = desk.inner_text("#detail .history")
        assert "In progress → Completed (Ana Reyes)".lower() in history.lower().replace("_", " ")
    screenshot(desk, "field-console-sees-completion")
    console.close()


def test_refused_steps_and_work_taken_away_stay_in_the_outbox_with_their_reason(browser_page, crew_day):
    """Cityworks' Pending Updates: what the server refused, or what was queued for work reassigned meanwhile,
    stays on the tablet with the reason until the crew sends it again or discards it."""
    page = browser_page
    paused, reassigned, cancelled = crew_day["work"]
    sign_in(page, "ana")
    under_service_worker(page)

    # Online: start, pause for the weather, resume; each is on the server at once.
    open_card(page, paused.pk)
    step(page, "in_progress")
    page.wait_for_selector(".steps button[data-step='on_hold']")
    step(page, "on_hold")
    page.click("#step-panel input[value='weather']")
    page.click("#step-confirm")
    page.wait_for_selector(".steps button[data-step='in_progress']:has-text('Resume')")
    page.click(".steps button[data-step='in_progress']")
    page.wait_for_selector(".detail-screen[data-status='in_progress']")
    page.wait_for_function("document.querySelector('#sync').dataset.state === 'saved'", timeout=15000)
    assert list(WorkOrderEvent.objects.filter(work_order=paused, client_id__isnull=False).order_by("at")
                .values_list("to_status", flat=True)) == ["in_progress", "on_hold", "in_progress"]

    # Offline: the site notes of the first, a start and a note on another, a note on the third.
    page.context.set_offline(True)
    page.wait_for_function("document.querySelector('#sync').dataset.state === 'offline'")
    page.fill("#site-notes-form textarea", "Gate code 4711")
    page.click("#site-notes-form button[type=submit]")
    page.wait_for_selector(".detail-screen .badge.pending:has-text('1 not sent')")
    page.click("main a.button[href='#/']")
    open_card(page, cancelled.pk)
    step(page, "in_progress")
    page.fill("#note-form textarea", "Post is leaning badly, cordoned off")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector("ul.notes li.pending")
    page.click("main a.button[href='#/']")
    open_card(page, reassigned.pk)
    page.fill("#note-form textarea", "Ladder needed")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector("ul.notes li.pending")
    page.click("main a.button[href='#/']")
    # Meanwhile the dispatcher writes other site notes on the first (a clash for a supervisor), cancels the
    # second (starting it is no longer allowed) and gives the third to another crew (it leaves this tablet).
    base = WorkOrder.objects.get(pk=paused.pk).version
    field_edits.work_order_edit(work_order_id=paused.pk, changes=field_edits.edit_paths(
        {"site_notes": "Ring the caretaker first"}, staff=True), base_version=base, actor=crew_day["dana"],
        actor_label="dana")
    work_order_transition(work_order_id=cancelled.pk, to="cancelled", actor=crew_day["dana"],
                          note="duplicate of another job")
    other = Crew.objects.create(code="lights-2", name="Lights 2", department=crew_day["crew"].department,
                                shift_start=dt.time(0), shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7])
    work_order_assign(work_order_id=reassigned.pk, crew_id=other.pk, actor=crew_day["dana"])
    page.context.set_offline(False)
    page.wait_for_selector("#attention:not([hidden])", timeout=30000)
    page.wait_for_function(f"!document.querySelector(\"#work-orders a[data-work-order='{reassigned.pk}']\")")
    assert page.inner_text("#attention") == "2 need attention"
    assert WorkOrderNote.objects.get().text == "Post is leaning badly, cordoned off"  # that note was accepted
    assert not WorkOrderEvent.objects.filter(work_order=cancelled, to_status="in_progress").exists()

    # The clash: the value in place stays, both are shown on the tablet, a supervisor decides.
    assert WorkOrder.objects.get(pk=paused.pk).site_notes == "Ring the caretaker first"
    page.wait_for_selector(f"#work-orders a[data-work-order='{paused.pk}'] .badge.conflict")
    open_card(page, paused.pk)
    conflict = page.inner_text(".conflicts")
    assert "supervisor will decide" in conflict
    assert "Site notes: theirs Ring the caretaker first, yours Gate code 4711" in conflict
    screenshot(page, "field-conflict")

    page.click("#attention")
    page.wait_for_selector(".outbox-item.rejected >> nth=1")
    refused = page.eval_on_selector_all(".outbox-item.rejected", "items => items.map(i => i.innerText)")
    assert "Status → In progress" in refused[0] and "(not_allowed)" in refused[0] and "cancelled" in refused[0]
    assert reassigned.title in refused[1] and "Ladder needed" in refused[1] and "(not_assigned)" in refused[1]
    screenshot(page, "field-needs-attention")
    states = page.evaluate("window.fieldsvcField.data.outbox.map(i => [i.state, i.result.code])")
    assert states == [["rejected", "not_allowed"], ["rejected", "not_assigned"]]

    # They stay through a reload and the syncs after it; discarding takes two taps.
    page.reload()
    page.wait_for_function(APP_READY, timeout=20000)
    page.wait_for_selector(".outbox-item.rejected >> nth=1")
    first_discard = ".outbox-item.rejected >> nth=0 >> button.danger"
    page.click(first_discard)
    assert page.inner_text(first_discard) == "Really discard?"
    page.click(first_discard)
    page.wait_for_function("document.querySelectorAll('.outbox-item.rejected').length === 1")
    assert page.inner_text("#attention") == "1 needs attention"
    assert page.evaluate("window.fieldsvcField.data.outbox.map(i => i.result.code)") == ["not_assigned"]

    # Signing out with something still kept asks first; it stays on the tablet for the next sign-in.
    page.click("#logout button")
    page.wait_for_selector("#toast:has-text('Tap “Sign out” again')")
    page.click("#logout button")
    page.wait_for_url("**/field/login/")
    assert real_errors(page) == []


def test_the_app_shell_is_installable(client, crew_day):
    answer = client.get("/field/manifest.webmanifest")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/manifest+json"
    manifest = answer.json()
    assert (manifest["start_url"], manifest["display"], manifest["scope"]) == ("/field/", "standalone", "/field/")
    assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
    assert any(i["purpose"] == "maskable" for i in manifest["icons"])
    for icon in manifest["icons"]:  # PNGs of the size they claim
        size = int(icon["sizes"].split("x")[0])
        assert Image.open(finders.find(icon["src"].removeprefix(settings.STATIC_URL).lstrip("/"))).size == (size, size)
    worker = client.get("/field/sw.js")
    assert worker.status_code == 200 and worker["Content-Type"].startswith("application/javascript")
    assert worker["Cache-Control"] == "no-cache"
    config = json.loads(worker.content.decode().split("\n", 1)[0].removeprefix("self.FIELD_CONFIG = ").rstrip(";"))
    assert "/field/" in config["precache"] and any(u.endswith("maplibre-gl.mjs") for u in config["precache"])
    assert client.get("/field/").status_code == 302  # signed out: to the sign-in page
    client.force_login(crew_day["ana"])
    page = client.get("/field/")
    assert page.status_code == 200 and b'rel="manifest"' in page.content and "csrftoken" in page.cookies
