"""The residents' pages in headless Chromium on a phone-sized screen: a pothole reported in Spanish (language chosen,
suggestion picked, questions answered, photo attached) then found by number and on the map; Arabic right to left;
a case nearby offered and followed instead of reporting again; an address and the keyboard choosing the spot; the
form without JavaScript; the case page following the work order to closure, then the survey."""

import pytest
from django.core.management import call_command

from tests.e2e.conftest import screenshot
from tests.resident.conftest import CATALOGUE, CITY_HALL, PNG, TWENTY_M_NORTH
from workorders import linking, selectors, services
from workorders.models import Channel, Crew, Follower, ServiceRequest
from workorders.work import work_order_assign, work_order_transition, work_orders_generate

pytestmark = pytest.mark.django_db(transaction=True)  # the browser reads through the live server's threads

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo_catalogue(registry, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("load_catalogue", str(CATALOGUE), rules="")


@pytest.fixture
def phone(browser_page):
    """The page on a phone-sized screen, its position at City Hall Plaza when the resident asks for it."""
    browser_page.set_viewport_size(PHONE)
    browser_page.context.grant_permissions(["geolocation"])
    browser_page.context.set_geolocation({"latitude": CITY_HALL[0], "longitude": CITY_HALL[1]})
    return browser_page


def map_ready(page) -> None:
    page.wait_for_function("window.fieldsvcReport && window.fieldsvcReport.map.loaded()")


def test_a_resident_reports_a_pothole_in_spanish_and_finds_it_by_number_and_on_the_map(demo_catalogue, phone):
    page = phone
    page.goto("/report/")
    assert page.locator("h1").inner_text() == "Report a problem"
    with page.expect_navigation():
        page.select_option("#lang", "es")  # the list submits itself
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == "Reportar un problema"
    map_ready(page)

    page.get_by_role("button", name="Usar mi ubicación").click()
    page.wait_for_function("document.getElementById('lat').value !== ''")
    page.get_by_label("Describa el problema con sus propias palabras").fill("Hay un bache enorme en la calle")
    page.get_by_role("radio", name="Bache").check()  # the first suggestion, from the resident's words
    assert page.locator("#service_code").input_value() == "pothole"
    page.get_by_role("radio", name="Más grande que una llanta de auto").check()
    page.get_by_label("¿Qué profundidad tiene, en pulgadas?").fill("5")
    page.set_input_files("#media", files=[{"name": "bache.png", "mimeType": "image/png", "buffer": PNG}])
    assert page.get_by_role("img", name="bache.png").is_visible()  # the photo chosen, shown small
    page.get_by_label("Correo electrónico").fill("ana@example.org")
    unlabelled = page.evaluate("""[...document.querySelectorAll('input, select, textarea, button')]
        .filter(e => e.type !== 'hidden' && e.offsetParent !== null)
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
        .map(e => e.outerHTML)""")
    assert not unlabelled, unlabelled  # every control a screen reader meets has a name
    screenshot(page, "resident-report-es")
    with page.expect_navigation():
        page.get_by_role("button", name="Enviar reporte").click()

    created = ServiceRequest.objects.get()
    assert (created.service.code, created.channel, created.attributes) == ("pothole", Channel.WEB,
                                                                             {"SIZE": "large", "DEPTH": 5})
    assert len(created.media_urls) == 1 and Follower.objects.get(request=created).locale == "es"
    assert page.url.endswith(f"/requests/{created.reference}?lang=es&new=1")
    assert f"Su número de solicitud es {created.reference}" in page.locator("[role=status]").first.inner_text()
    assert page.locator("h1").inner_text() == f"Bache — {created.reference}"
    assert page.locator("#history li").count() >= 1
    page.wait_for_function("window.fieldsvcCaseMap && window.fieldsvcCaseMap.loaded()")
    assert page.locator(".photos img").count() == 1
    screenshot(page, "resident-case-es")

    page.goto("/status")  # the language is remembered
    page.get_by_label("Número de solicitud").fill(created.reference.lower().replace("-", ""))
    with page.expect_navigation():
        page.get_by_role("button", name="Consultar").click()
    assert page.locator("#reference").inner_text() == created.reference

    page.goto("/report/")
    map_ready(page)
    page.wait_for_function(f"window.fieldsvcReport.nearby.some(f => f.properties.reference === '{created.reference}')")
    drawn = page.evaluate("""(reference) => new Promise((done) => {
        const map = window.fieldsvcReport.map;
        const look = () => map.queryRenderedFeatures({layers: ['nearby']}).map(f => f.properties.reference);
        map.once('idle', () => done(look()));
        map.triggerRepaint();
    })""", created.reference)
    assert created.reference in drawn
    page.locator("#nearby-details summary").click()  # the list beside the map, for keyboards and screen readers
    assert page.get_by_role("link", name=f"Bache — {created.reference}").is_visible()
    screenshot(page, "resident-map-es")
    assert page.seen_hosts - {None} <= {"localhost"} and not page.errors, page.errors  # None: the preview's blob: URL


def test_arabic_from_the_browsers_language_renders_right_to_left(demo_catalogue, chromium, live_server):
    context = chromium.new_context(viewport=PHONE, base_url=live_server.url, locale="ar-EG")  # Accept-Language
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto("/report/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.querySelector('main')).direction") == "rtl"
    heading = page.locator("h1").bounding_box()
    assert heading["x"] + heading["width"] > PHONE["width"] - 40  # starts at the right edge
    assert page.locator("h1").inner_text() == "الإبلاغ عن مشكلة"
    map_ready(page)
    screenshot(page, "resident-report-ar")
    assert not page.errors, page.errors
    context.close()


def test_a_case_nearby_is_offered_and_followed_instead_of_reporting_again(demo_catalogue, phone):
    original, _ = services.request_create(service=selectors.service_get(code="pothole"), data=services.RequestInput(
        lat=TWENTY_M_NORTH[0], long=TWENTY_M_NORTH[1], attributes={"SIZE": ["small"]}, check_duplicates=False))
    page = phone
    page.goto("/report/?lang=en")
    map_ready(page)
    page.get_by_role("button", name="Use my location").click()
    page.wait_for_function("document.getElementById('lat').value !== ''")
    page.select_option("#service_code", "pothole")
    offered = page.locator("#duplicates")
    offered.wait_for(state="visible")
    assert original.reference in offered.inner_text()
    screenshot(page, "resident-duplicate-offered")
    offered.get_by_role("button", name="Follow this one instead").click()
    assert page.evaluate("document.activeElement.id") == "follow-email"
    page.keyboard.type("rui@example.org")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/requests/{original.reference}?lang=en&followed=1")
    assert f"You are following {original.reference}" in page.locator(".ok").inner_text()
    assert Follower.objects.get(request=original).email == "rui@example.org"
    assert ServiceRequest.objects.count() == 1  # nothing reported again
    screenshot(page, "resident-followed")
    assert not page.errors, page.errors


def test_a_place_found_by_address_or_with_the_keyboard_becomes_the_spot(demo_catalogue, phone):
    services.request_create(service=selectors.service_get(code="graffiti"), data=services.RequestInput(
        lat=TWENTY_M_NORTH[0], long=TWENTY_M_NORTH[1], address_string="1 City Hall Square, Boston",
        require_answers=False))
    page = phone
    page.goto("/report/?lang=fr")
    map_ready(page)
    page.get_by_label("Chercher une adresse").fill("city hall")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="1 City Hall Square, Boston").click()
    assert page.locator("#address_string").input_value() == "1 City Hall Square, Boston"
    assert round(float(page.locator("#lat").input_value()), 5) == TWENTY_M_NORTH[0]
    page.locator("#map canvas").focus()  # keyboard: arrows move the map, Enter takes its centre
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"window.fieldsvcReport.map.getCenter().lat < {TWENTY_M_NORTH[0]} - 1e-5"
                           " && !window.fieldsvcReport.map.isMoving()")
    page.keyboard.press("Enter")
    page.wait_for_function(f"Number(document.getElementById('lat').value) < {TWENTY_M_NORTH[0]}")
    assert "Lieu choisi" in page.locator("#spot").inner_text()
    assert not page.errors, page.errors


def test_without_javascript_the_form_still_reports(demo_catalogue, chromium, live_server):
    context = chromium.new_context(java_script_enabled=False, viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    page.goto("/report/?lang=pt")
    page.select_option("#service_code", "pothole")
    page.get_by_label("Endereço ou ponto de referência").fill("1 City Hall Square")
    with page.expect_navigation():
        page.get_by_role("button", name="Enviar pedido").click()
    assert page.locator("[role=alert]").is_visible()  # the questions come back, in Portuguese
    page.get_by_role("radio", name="Menor que um prato").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Enviar pedido").click()
    created = ServiceRequest.objects.get()
    assert (created.address_string, created.attributes, created.geom) == ("1 City Hall Square", {"SIZE": "small"}, None)
    assert page.locator("#reference").inner_text() == created.reference
    screenshot(page, "resident-no-js")
    context.close()


def test_the_reporter_sees_the_crew_assigned_then_the_survey_after_closure(demo_catalogue, phone):
    page = phone
    page.goto("/report/?lang=es")
    map_ready(page)
    page.get_by_role("button", name="Usar mi ubicación").click()
    page.wait_for_function("document.getElementById('lat').value !== ''")
    page.select_option("#service_code", "pothole")
    page.get_by_role("radio", name="Más pequeño que un plato").check()
    page.get_by_label("Correo electrónico").fill("ana@example.org")
    with page.expect_navigation():
        page.get_by_role("button", name="Enviar reporte").click()
    created = ServiceRequest.objects.get()

    linking.request_link(request_id=created.pk)  # what the worker does after intake
    work_orders_generate(request_ids=[created.pk])
    created.refresh_from_db()
    crew = Crew.objects.get(code="pwd-asphalt-1")
    work_order_assign(work_order_id=created.work_order_id, crew_id=crew.pk)  # the dispatcher's click
    page.reload()
    assert page.locator("#status").inner_text() == "En curso"
    assert "/survey/" not in page.content()

    for step in ("en_route", "in_progress"):
        work_order_transition(work_order_id=created.work_order_id, to=step)
    work_order_transition(work_order_id=created.work_order_id, to="completed", resolution="fixed", note="Bacheado")
    created.refresh_from_db()
    if created.status != "closed":  # services that wait for a supervisor's check
        work_order_transition(work_order_id=created.work_order_id, to="closed")
    page.reload()
    assert page.locator("#status").inner_text() == "Resuelto"
    page.get_by_role("link", name="¿Se resolvió? Díganos en un minuto").click()
    page.get_by_role("radio", name="Sí").check()
    page.get_by_role("radio", name="5").check()
    page.get_by_role("button", name="Enviar").click()
    assert page.locator("[role=status]").inner_text() == "Gracias."
    screenshot(page, "resident-survey-es")
    assert created.surveys.get().fixed is True
