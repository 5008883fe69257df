"""The residents' report page, its JSON helpers, following a case, and the case page, through the test client."""

import datetime as dt

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from fieldsvc.resident_texts import TEXTS
from workorders.catalogue import LOCALES
from workorders.models import Channel, Follower, ServiceRequest
from workorders.services import request_status_change

from .conftest import CITY_HALL, PNG, TWENTY_M_NORTH, TWO_KM_NORTH

pytestmark = pytest.mark.django_db


def test_every_language_has_every_text():
    assert set(TEXTS) == set(LOCALES)
    for locale in LOCALES:
        assert set(TEXTS[locale]) == set(TEXTS["en"]), locale


@pytest.mark.parametrize("locale", LOCALES)
def test_the_report_page_speaks_each_catalogue_language(demo_catalogue, client, locale):
    page = client.get("/report/", {"lang": locale})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    body = page.content.decode()
    assert TEXTS[locale]["title"] in body and TEXTS[locale]["submit"] in body
    assert ('dir="rtl"' in body) == (locale == "ar")
    assert 'data-lat="42.3603" data-long="-71.058"' in body  # never localised: the script reads them
    assert page.cookies["fieldsvc_lang"].value == locale


def test_the_browser_language_is_taken_until_the_resident_chooses(demo_catalogue, client):
    page = client.get("/report/", HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5")
    assert '<html lang="es" dir="ltr">' in page.content.decode() and "Bache" in page.content.decode()
    client.get("/report/", {"lang": "fr"})
    assert TEXTS["fr"]["title"] in client.get("/report/", HTTP_ACCEPT_LANGUAGE="es").content.decode()


def test_a_report_goes_through_the_intake_as_web_with_answers_and_photo(demo_catalogue, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = client.post("/report/?lang=es", {
        "lang": "es", "service_code": "pothole", "description": "Hay un bache enorme", "lat": CITY_HALL[0],
        "long": CITY_HALL[1], "attribute[SIZE]": "large", "attribute[DEPTH]": "4", "email": "ana@example.org",
        "media": SimpleUploadedFile("bache.png", PNG, content_type="image/png"),
    })
    created = ServiceRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{created.reference}?lang=es&new=1"
    assert created.channel == Channel.WEB and created.service.code == "pothole"
    assert created.attributes == {"SIZE": "large", "DEPTH": 4} and len(created.media_urls) == 1
    assert Follower.objects.get(request=created).locale == "es"
    page = client.get(response["Location"]).content.decode()
    assert "Bache" in page and created.reference in page and TEXTS["es"]["thanks"].split(".")[0] in page


def test_a_report_missing_an_answer_is_shown_again_with_the_questions_and_nothing_written(demo_catalogue, client):
    response = client.post("/report/", {"lang": "es", "service_code": "pothole", "description": "bache",
                                        "address_string": "1 City Hall Square", "attribute[DEPTH]": "4"})
    assert response.status_code == 400 and ServiceRequest.objects.count() == 0
    body = response.content.decode()
    assert 'role="alert"' in body and 'name="attribute[SIZE]"' in body
    assert TEXTS["es"]["answer_required"].format(question="¿Qué tamaño tiene el bache más o menos?") in body
    assert "Del tamaño de una llanta de auto" in body  # the question, in Spanish, for browsers without JS
    assert 'name="attribute[DEPTH]" value="4"' in body  # what was answered stays


def test_a_photo_that_is_not_an_image_is_refused_in_the_residents_language(demo_catalogue, client):
    response = client.post("/report/", {"lang": "fr", "service_code": "graffiti", "address_string": "1 City Hall",
                                        "media": SimpleUploadedFile("x.png", b"not an image")})
    assert response.status_code == 400 and ServiceRequest.objects.count() == 0
    assert TEXTS["fr"]["photo_invalid"].format(mb=10) in response.content.decode()


def test_a_report_needs_a_service_and_a_place(demo_catalogue, client):
    response = client.post("/report/", {"lang": "en", "description": "something"})
    assert response.status_code == 400
    assert TEXTS["en"]["service_required"] in response.content.decode()
    assert TEXTS["en"]["spot_required"] in response.content.decode()


def test_the_report_form_is_csrf_protected(demo_catalogue):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/report/", {"service_code": "pothole", "lat": CITY_HALL[0], "long": CITY_HALL[1],
                                        "attribute[SIZE]": "small"})
    assert response.status_code == 403 and ServiceRequest.objects.count() == 0


def test_nearby_lists_open_and_recently_closed_cases_only(demo_catalogue, client, report_at,
                                                         django_assert_max_num_queries):
    near_open = report_at("pothole", TWENTY_M_NORTH, attributes={"SIZE": ["small"]})
    recently = report_at("streetlight-outage", CITY_HALL)
    request_status_change(request=recently, detailed_status="fixed")
    long_ago = report_at("graffiti", CITY_HALL)
    request_status_change(request=long_ago, detailed_status="fixed")
    ServiceRequest.objects.filter(pk=long_ago.pk).update(closed_at=timezone.now() - dt.timedelta(days=60))
    report_at("pothole", TWO_KM_NORTH, attributes={"SIZE": ["small"]})
    with django_assert_max_num_queries(7):  # two listings; the rest: the catalogue copy re-checked (tests: at once)
        response = client.get("/report/nearby.json", {"lat": CITY_HALL[0], "long": CITY_HALL[1], "lang": "es"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    features = orjson.loads(response.content)["features"]
    assert [f["properties"]["reference"] for f in features] == [near_open.reference, recently.reference]
    assert features[0]["properties"]["service"] == "Bache" and features[1]["properties"]["status"] == "closed"
    assert client.get("/report/nearby.json", {"lat": "x", "long": "1"}).status_code == 400


def test_duplicates_offers_open_cases_of_the_service_nearby_and_following_one(demo_catalogue, client, report_at):
    original = report_at("pothole", TWENTY_M_NORTH, attributes={"SIZE": ["small"]})
    report_at("pothole", TWO_KM_NORTH, attributes={"SIZE": ["small"]})
    report_at("graffiti", CITY_HALL)
    response = client.get("/report/duplicates.json", {"service_code": "pothole", "lat": CITY_HALL[0],
                                                      "long": CITY_HALL[1]})
    assert [f["properties"]["reference"] for f in orjson.loads(response.content)["features"]] == [original.reference]
    assert client.get("/report/duplicates.json", {"service_code": "nope", "lat": 1, "long": 1}).status_code == 400
    followed = client.post("/report/follow?lang=pt", {"number": original.reference, "email": "rui@example.org"})
    assert followed.status_code == 302
    assert followed["Location"] == f"/requests/{original.reference}?lang=pt&followed=1"
    follower = Follower.objects.get(request=original)
    assert (follower.email, follower.locale, follower.via) == ("rui@example.org", "pt", "subscriber")
    assert client.post("/report/follow", {"number": original.reference, "email": "again"}).status_code == 400
    page = client.get(followed["Location"]).content.decode()
    assert TEXTS["pt"]["followed"].format(reference=original.reference) in page


def test_the_case_page_is_translated_and_offers_the_survey_to_its_reporter_after_closure(demo_catalogue, client):
    response = client.post("/report/", {"lang": "ar", "service_code": "pothole", "lat": CITY_HALL[0],
                                        "long": CITY_HALL[1], "attribute[SIZE]": "small", "email": "a@example.org"})
    created = ServiceRequest.objects.get()
    page = client.get(f"/requests/{created.reference}").content.decode()
    assert 'dir="rtl"' in page and "حفرة في الطريق" in page and 'id="case-map"' in page
    assert "/survey/" not in page
    request_status_change(request=created, detailed_status="in_progress")
    assert "قيد التنفيذ" in client.get(f"/requests/{created.reference}").content.decode()  # status in Arabic
    request_status_change(request=created, detailed_status="fixed")
    page = client.get(response["Location"]).content.decode()
    assert f'/survey/{created.surveys.get().token}' in page
    assert "/survey/" not in Client().get(f"/requests/{created.reference}").content.decode()  # another browser


def test_the_survey_speaks_the_residents_language_and_reopens_when_not_fixed(demo_catalogue, client, report_at):
    created = report_at("pothole", CITY_HALL, attributes={"SIZE": ["small"]}, email="lan@example.org")
    request_status_change(request=created, detailed_status="fixed")  # a survey for those who follow it
    url = f"/survey/{created.surveys.get().token}"
    page = client.get(url, {"lang": "vi"}).content.decode()
    assert TEXTS["vi"]["survey_fixed"] in page and "Ổ gà" in page
    assert TEXTS["vi"]["survey_error"] in client.post(url, {"lang": "vi", "fixed": "maybe"}).content.decode()
    answered = client.post(url, {"lang": "vi", "fixed": "no", "satisfaction": "2"})
    assert answered.status_code == 200 and TEXTS["vi"]["survey_reopened"] in answered.content.decode()
    created.refresh_from_db()
    assert created.status == "open"


def test_places_are_addresses_given_on_earlier_reports_found_as_one_types(demo_catalogue, client, report_at):
    report_at("pothole", CITY_HALL, address_string="1 City Hall Square, Boston")
    report_at("graffiti", CITY_HALL, address_string="1 City Hall Square, Boston")
    report_at("graffiti", TWO_KM_NORTH, address_string="300 Main Street, Charlestown")
    response = client.get("/report/places.json", {"q": "city hall squ"})
    assert response.status_code == 200
    [place] = orjson.loads(response.content)["places"]
    assert place["address"] == "1 City Hall Square, Boston"
    assert (round(place["lat"], 4), round(place["lon"], 4)) == CITY_HALL
    assert orjson.loads(client.get("/report/places.json", {"q": "elm street"}).content) == {"places": []}
    assert client.get("/report/places.json", {"q": "a"}).status_code == 400


def test_reports_and_lookups_share_the_callers_open311_rate_limit(demo_catalogue, client, settings):
    settings.FIELDSVC_OPEN311_RATE_PER_ADDRESS = 0
    response = client.post("/report/", {"service_code": "pothole", "lat": CITY_HALL[0], "long": CITY_HALL[1],
                                        "attribute[SIZE]": "small"})
    assert response.status_code == 429 and int(response["Retry-After"]) <= 60
    assert ServiceRequest.objects.count() == 0
    assert client.get("/report/nearby.json", {"lat": CITY_HALL[0], "long": CITY_HALL[1]}).status_code == 429
    assert client.get("/report/").status_code == 200  # the page itself is never refused
