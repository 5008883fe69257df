"""The dispatcher console in headless Chromium: the queue by SLA breach, layer toggles, filters on the map and the
queue, a feature's detail, assigning the suggested crew, and a new report appearing without a reload."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gis import crs
from gis.models import Asset, AssetType, Department
from tests.e2e.conftest import login, screenshot
from tiles import cache as tile_cache
from tiles import tasks as tile_tasks
from workorders import linking, services
from workorders.crews import crew_position_record
from workorders.day_plans import day_plan_make
from workorders.models import Crew, DepartmentRole, ServiceRequest, WorkOrder
from workorders.services import RequestInput, request_create
from workorders.work import work_order_assign, work_orders_generate

pytestmark = pytest.mark.django_db(transaction=True)  # the browser reads through the live server's threads

# The smallest valid PNG (1x1), as a resident's photo.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000105a1a3b0d80000000049454e44ae426082")
# Massachusetts Avenue by Cambridge City Hall (as in tests/work): lamps 40 m apart along x.
LON, LAT = -71.1043, 42.3670
CATALOGUE = {"services": [
    {"code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
     "asset_types": ["streetlight"], "snap_distance_m": 30, "sla_hours": 72, "work_order_mode": "auto",
     "task_skills": ["bucket-truck"]},
    {"code": "pothole", "name": "Pothole", "department": "public-works", "sla_hours": 48,
     "work_order_mode": "triage"},
]}


@pytest.fixture(autouse=True)
def fresh_tiles(monkeypatch, settings):
    """This database's cached tiles retired (earlier runs drew other rows at these addresses), and
    tile invalidation run at once instead of by a worker."""
    for layer in ("work_orders", "assets", "utility_lines", "utility_structures", "neighbourhoods"):
        cache.set(tile_cache._generation_key(layer), timezone.now().timestamp(), None)
    settings.FIELDSVC_CONSOLE_POLL_S = 1  # the page's live updates, sooner than the default 5 s
    monkeypatch.setattr("tiles.signals.enqueue", lambda name, **kwargs: tile_tasks.tiles_invalidate_task(**kwargs))


def report(service_code: str, dx: float, description: str = "") -> ServiceRequest:
    x, y = crs.storage_point(LON, LAT)
    point = Point(x + dx, y + 3, srid=crs.storage_srid())
    point.transform(4326)
    request, _ = request_create(service=services.Service.objects.get(code=service_code), data=RequestInput(
        lat=point.y, long=point.x, description=description, require_answers=False, check_duplicates=False))
    assert linking.request_link(request_id=request.pk) == "linked"
    work_orders_generate(request_ids=[request.pk])
    return ServiceRequest.objects.select_related("work_order").get(pk=request.pk)


@pytest.fixture
def city(registry):
    services.catalogue_load(data=CATALOGUE)
    x, y = crs.storage_point(LON, LAT)
    lamp = AssetType.objects.get(code="streetlight")
    for n, dx in enumerate((0, 300)):
        Asset.objects.create(asset_type=lamp, external_id=f"L-{n}", geom=Point(x + dx, y, srid=crs.storage_srid()))
    lights = Department.objects.get(code="street-lighting")
    crew = Crew.objects.create(code="lights-1", name="Lights 1", department=lights, skills=["bucket-truck"],
                               shift_start=dt.time(0), shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7],
                               depot=Point(x - 150, y - 100, srid=crs.storage_srid()))
    Crew.objects.create(code="lights-2", name="Lights 2", department=lights, skills=["bucket-truck"],
                        shift_start=dt.time(0), shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7],
                        depot=Point(x + 2000, y + 2000, srid=crs.storage_srid()))
    dispatcher = get_user_model().objects.create_user("dana", is_staff=True)
    for code in ("street-lighting", "public-works"):
        DepartmentRole.objects.create(user=dispatcher, department=Department.objects.get(code=code), role="dispatcher")
    lamp_out = report("streetlight-outage", dx=2, description="Lamp dark since Tuesday")  # due in 72 h
    pothole = report("pothole", dx=150, description="Deep hole by the crosswalk")  # due in 48 h
    late = report("streetlight-outage", dx=300, description="Second lamp flickering")
    work_order_assign(work_order_id=late.work_order_id, crew_id=crew.pk)
    WorkOrder.objects.filter(pk=late.work_order_id).update(due_at=timezone.now() - dt.timedelta(hours=5))
    return {"dispatcher": dispatcher, "crew": crew, "lamp": lamp_out.work_order, "pothole": pothole.work_order,
            "late": WorkOrder.objects.get(pk=late.work_order_id)}


def rendered(page, layer: str) -> list[dict]:
    return page.evaluate(f"window.fieldsvcConsole.map.queryRenderedFeatures(undefined, {{layers: ['{layer}']}})"
                         ".filter(f => f.properties.count === undefined).map(f => f.properties)")


def settle(page) -> None:
    page.wait_for_function("window.fieldsvcConsole.map && window.fieldsvcConsole.map.loaded()"
                           " && window.fieldsvcConsole.map.areTilesLoaded()", timeout=15000)
    page.wait_for_timeout(300)  # the frame after the tiles arrived


def queue_ids(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all("#queue li", "items => items.map(i => i.dataset.id)")]


def test_anonymous_visitors_are_sent_to_sign_in(browser_page):
    browser_page.goto("/console/")
    assert "/admin/login/" in browser_page.url and "next=/console/" in browser_page.url


def test_a_dispatcher_works_the_queue_on_the_map(browser_page, client, city):
    page = browser_page
    login(page, client, city["dispatcher"])
    page.goto(f"/console/#16.5/{LAT}/{LON + 0.001}")
    page.wait_for_function("window.fieldsvcConsole.ready && document.querySelectorAll('#queue li').length === 3",
                           timeout=15000)
    settle(page)
    # The queue: overdue work first, then by the time its SLA runs out (pothole 48 h before lamps 72 h).
    assert queue_ids(page) == [city["late"].pk, city["pothole"].pk, city["lamp"].pk]
    assert "overdue by" in page.inner_text(f"#queue li[data-id='{city['late'].pk}']")
    assert {f["id"] for f in rendered(page, "work_orders")} == {city[k].pk for k in ("late", "pothole", "lamp")}
    assert len(rendered(page, "requests")) == 3
    assert [f["code"] for f in rendered(page, "crews")] == ["lights-1"]  # lights-2 is 3 km away, off the map
    screenshot(page, "console-queue")

    # Layer toggles hide and show a layer; the dense registry starts hidden.
    assert not page.is_checked("input[name=layer-assets]") and rendered(page, "assets") == []
    page.check("input[name=layer-assets]")
    settle(page)
    assert {f["external_id"] for f in rendered(page, "assets")} == {"L-0", "L-1"}
    page.uncheck("input[name=layer-requests]")
    settle(page)
    assert rendered(page, "requests") == []
    page.check("input[name=layer-requests]")
    settle(page)
    assert len(rendered(page, "requests")) == 3

    # Filters act on the map (tile properties) and on the queue.
    page.select_option("#filter-service", "pothole")
    settle(page)
    assert [f["id"] for f in rendered(page, "work_orders")] == [city["pothole"].pk]
    assert queue_ids(page) == [city["pothole"].pk]
    page.select_option("#filter-service", "")
    page.check("#filter-overdue")
    settle(page)
    assert [f["id"] for f in rendered(page, "work_orders")] == [city["late"].pk] and rendered(page, "requests") == []
    assert queue_ids(page) == [city["late"].pk]
    page.uncheck("#filter-overdue")
    page.select_option("#filter-department", "public-works")
    settle(page)
    assert [f["id"] for f in rendered(page, "work_orders")] == [city["pothole"].pk]
    assert [f["code"] for f in rendered(page, "crews")] == []  # street lighting's crews
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    page.select_option("#filter-department", "")
    page.fill("#filter-from", tomorrow)
    page.dispatch_event("#filter-from", "change")
    settle(page)
    assert rendered(page, "work_orders") == [] and queue_ids(page) == []
    screenshot(page, "console-filtered")
    page.click("button[type=reset]")
    page.wait_for_function("document.querySelectorAll('#queue li').length === 3")

    # A queue item opens its detail: the request's words, the routing explanation, the SLA, the crews.
    page.click(f"#queue li[data-id='{city['lamp'].pk}']")
    page.wait_for_selector("#assign-button")
    text = page.inner_text("#detail")
    assert "Lamp dark since Tuesday" in text and "Routed to" in text and "breaches in" in text
    first_crew = page.eval_on_selector("#assign select", "s => s.options[0].textContent")
    assert first_crew.startswith("★ suggested: lights-1")  # 150 m away, before lights-2 at 3 km
    screenshot(page, "console-detail")
    page.click("#assign-button")
    page.wait_for_selector(f"#detail [data-work-order='{city['lamp'].pk}'][data-status='dispatched']")
    page.wait_for_selector("#message:has-text('assigned to lights-1')")
    page.wait_for_function(f"!document.querySelector(\"#queue li[data-id='{city['lamp'].pk}']\")")
    assert WorkOrder.objects.get(pk=city["lamp"].pk).crew_id == city["crew"].pk
    screenshot(page, "console-assigned")

    # Triage: a second report of the pothole is merged into the first; the first is reclassified.
    copy = report("pothole", dx=400, description="Same hole again")
    pothole_request = ServiceRequest.objects.get(work_order=city["pothole"])
    page.wait_for_selector(f"#queue li[data-id='{copy.work_order_id}']", timeout=15000)
    page.click(f"#queue li[data-id='{copy.work_order_id}']")
    page.wait_for_selector(f"section.request[data-request='{copy.pk}'] button.merge")
    page.fill(f"section.request[data-request='{copy.pk}'] input[name=into]", pothole_request.reference)
    page.click(f"section.request[data-request='{copy.pk}'] button.merge")
    page.wait_for_selector(f"#message:has-text('duplicate of {pothole_request.reference}')")
    assert ServiceRequest.objects.get(pk=copy.pk).detailed_status == "duplicate"
    assert WorkOrder.objects.get(pk=copy.work_order_id).status == "cancelled"
    page.wait_for_function(f"!document.querySelector(\"#queue li[data-id='{copy.work_order_id}']\")")
    page.click(f"#queue li[data-id='{city['pothole'].pk}']")
    form = f"section.request[data-request='{pothole_request.pk}']"
    page.wait_for_selector(f"{form} button.reclassify")
    page.select_option(f"{form} select[name=service]", "streetlight-outage")
    page.click(f"{form} button.reclassify")
    page.wait_for_selector("#message:has-text('is now Street Light Outage')")
    assert WorkOrder.objects.get(pk=city["pothole"].pk).service.code == "streetlight-outage"
    assert "Reclassified from Pothole" in page.inner_text("#detail")
    screenshot(page, "console-triaged")

    # A crew's day: re-planned (the worker's part done here), its route drawn from where it is.
    page.click("#detail button.close")
    x, y = crs.storage_point(LON, LAT)
    depot = Point(x - 150, y - 100, srid=crs.storage_srid())
    depot.transform(4326)
    page.evaluate(f"window.fieldsvcConsole.map.jumpTo({{center: [{depot.x}, {depot.y}], zoom: 16.5}})")
    settle(page)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#replan-button")
    page.click("#replan-button")
    page.wait_for_selector("#message:has-text('new day plan is being made')")
    day_plan_make(department_id=city["crew"].department_id, seconds=1)
    page.wait_for_function("window.fieldsvcConsole.plans === 1")  # every crew's route, with the next poll
    page.click("#plan-button")
    page.wait_for_selector("#message:has-text('stops, plan version 1')")
    assert page.evaluate("window.fieldsvcConsole.plan") == {"crew": city["crew"].pk, "stops": 2}
    assert len(page.locator("#plan-stops li").all()) == 2
    settle(page)
    assert page.evaluate("window.fieldsvcConsole.map.queryRenderedFeatures(undefined, {layers: ['plan-route']})"
                         ".length") >= 1
    screenshot(page, "console-route")

    # The crew's field step and its move reach the map by themselves (no reload).
    page.click("#detail button.close")
    page.click(f"#queue li[data-id='{city['late'].pk}']")
    page.wait_for_selector("#transition-button")
    page.select_option("#detail select[name=to]", "en_route")
    page.click("#transition-button")
    page.wait_for_selector(f"#detail [data-work-order='{city['late'].pk}'][data-status='en_route']")
    polls = page.evaluate("window.fieldsvcConsole.polls")
    moved = Point(x + 40, y - 60, srid=crs.storage_srid())
    crew_position_record(crew_id=city["crew"].pk, point=moved)
    moved.transform(4326)
    page.wait_for_function(f"window.fieldsvcConsole.polls > {polls}")
    settle(page)
    [drawn] = page.evaluate("window.fieldsvcConsole.map.queryRenderedFeatures(undefined, {layers: ['crews']})"
                            ".map(f => f.geometry.coordinates)")
    assert abs(drawn[0] - moved.x) < 2e-5 and abs(drawn[1] - moved.y) < 2e-5  # a tile pixel is ~0.5 m here
    assert {f["status"] for f in rendered(page, "work_orders") if f["id"] == city["late"].pk} == {"en_route"}

    # A report arriving meanwhile shows up on the map and in the queue without a reload.
    page.evaluate(f"window.fieldsvcConsole.map.jumpTo({{center: [{LON}, {LAT}], zoom: 16}})")
    polls = page.evaluate("window.fieldsvcConsole.polls")
    fresh = report("pothole", dx=-120, description="Another hole")
    page.wait_for_selector(f"#queue li[data-id='{fresh.work_order_id}']", timeout=15000)
    page.wait_for_function(f"window.fieldsvcConsole.polls > {polls}")
    settle(page)
    assert fresh.pk in {f["id"] for f in rendered(page, "requests")}
    screenshot(page, "console-live")
    assert page.evaluate("window.fieldsvcConsole.errors") == [] and page.errors == []
    assert page.seen_hosts <= {"localhost"}


def test_a_spanish_report_appears_live_is_assigned_and_the_resident_sees_the_status(browser_page, client, city,
                                                                                   live_server, settings, tmp_path):
    """The issue's path across the two sides: a resident's report (through the Open311 intake, in Spanish) reaches
    the console without a reload, the dispatcher assigns the suggested crew, and the resident's case page says so."""
    from fieldsvc.resident_texts import status_texts

    works = Department.objects.get(code="public-works")
    x, y = crs.storage_point(LON, LAT)
    Crew.objects.create(code="roads-1", name="Roads 1", department=works, shift_start=dt.time(0),
                        shift_end=dt.time(23, 59), shift_days=[1, 2, 3, 4, 5, 6, 7],
                        depot=Point(x + 80, y - 80, srid=crs.storage_srid()))
    page = browser_page
    login(page, client, city["dispatcher"])
    page.goto(f"/console/#16/{LAT}/{LON}")
    page.wait_for_function("window.fieldsvcConsole.ready && document.querySelectorAll('#queue li').length === 3")
    polls = page.evaluate("window.fieldsvcConsole.polls")

    _, key = services.api_key_create(name="city website")
    settings.MEDIA_ROOT, settings.FIELDSVC_PUBLIC_URL = tmp_path, live_server.url  # photos served back from here
    photo = SimpleUploadedFile("bache.png", PNG, content_type="image/png")
    answer = client.post("/open311/v2/requests.json", {
        "api_key": key, "service_code": "pothole", "lat": LAT + 0.0004, "long": LON, "locale": "es",
        "description": "Hay un bache enorme delante de la biblioteca", "email": "ana@example.org", "media": photo})
    assert answer.status_code == 201, answer.content
    created = ServiceRequest.objects.get(pk=answer.json()[0]["service_request_id"])
    linking.request_link(request_id=created.pk)  # what the worker does after intake
    work_orders_generate(request_ids=[created.pk])
    wo = ServiceRequest.objects.get(pk=created.pk).work_order

    item = f"#queue li[data-id='{wo.pk}']"
    page.wait_for_selector(item, timeout=15000)
    page.wait_for_function(f"window.fieldsvcConsole.polls > {polls}")
    settle(page)
    assert created.pk in {f["id"] for f in rendered(page, "requests")}
    page.click(item)
    page.wait_for_selector("#assign-button")
    assert "Hay un bache enorme" in page.inner_text("#detail")
    page.wait_for_function("[...document.querySelectorAll('#detail img')].some(i => i.complete && i.naturalWidth)")
    assert page.eval_on_selector("#assign select", "s => s.options[0].textContent").startswith("★ suggested: roads-1")
    page.click("#assign-button")
    page.wait_for_selector(f"#detail [data-work-order='{wo.pk}'][data-status='dispatched']")
    screenshot(page, "console-spanish-report-assigned")

    resident = page.context.new_page()  # no sign-in needed: the case page is public
    resident.goto(f"/requests/{created.reference}?lang=es")
    assert status_texts("es")["in_progress"] in resident.inner_text("body")
    screenshot(resident, "console-resident-sees-status")
    assert page.errors == [] and page.seen_hosts <= {"localhost"}
