"""Open311 GeoReport v2 conformance: one test per checklist id (../shared/reference/311_anchors.md §2)."""

import datetime as dt
import re

import orjson
import pytest
from django.utils import timezone

from tests.geo import CAMBRIDGE_CITY_HALL_WGS84
from tests.open311.conftest import body_data, xml_data
from workorders.models import ServiceRequest

pytestmark = pytest.mark.django_db

LON, LAT = CAMBRIDGE_CITY_HALL_WGS84
BASE = "/open311/v2"
FORMATS = ["xml", "json"]
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")  # open311-adapter's regex
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}


def post(client, fmt, api_key, **fields):
    form = {"api_key": api_key, "service_code": "streetlight-outage", "lat": LAT, "long": LON} | fields
    return client.post(f"{BASE}/requests.{fmt}", {k: v for k, v in form.items() if v is not None})


def created_id(response) -> str:
    item = body_data(response)[0]
    return item.get("service_request_id") or item.get("token")


def as_text(value):
    """JSON data as the XML text it maps to (booleans true/false, numbers as written, null empty)."""
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- 2.1 General / transport ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["discovery", "services", "services/pothole", "requests"])
def test_G01_every_resource_answers_in_xml_and_json(client, catalogue, path):
    for fmt in FORMATS:
        assert client.get(f"{BASE}/{path}.{fmt}").status_code == 200


def test_G02_xml_content_type_and_declaration(client, catalogue):
    response = client.get(f"{BASE}/services.xml")
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_G03_json_content_type_and_valid_json(client, catalogue):
    response = client.get(f"{BASE}/services.json")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert isinstance(orjson.loads(response.content), list)


@pytest.mark.parametrize("fmt", FORMATS)
def test_G04_utf8_description_round_trips(client, api_key, fmt):
    text = "Schlagloch – ß, 坑, حفرة\nsecond line"
    request_id = created_id(post(client, fmt, api_key, description=text))
    assert body_data(client.get(f"{BASE}/requests/{request_id}.{fmt}"))[0]["description"] == text


@pytest.mark.parametrize("fmt", FORMATS)
def test_G05_every_datetime_is_w3c_with_a_timezone(client, api_key, fmt):
    post(client, fmt, api_key)
    item = body_data(client.get(f"{BASE}/requests.{fmt}"))[0]
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(item[name]), (name, item[name])
    discovery = body_data(client.get(f"{BASE}/discovery.{fmt}"))
    assert W3C.match(discovery["changeset"]) and W3C.match(discovery["endpoints"][0]["changeset"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_G06_empty_optional_parameter_is_absent(client, api_key, fmt):
    post(client, fmt, api_key)
    plain = client.get(f"{BASE}/requests.{fmt}").content
    assert client.get(f"{BASE}/requests.{fmt}?status=&service_code=&start_date=&page=").content == plain


@pytest.mark.parametrize("fmt", FORMATS)
def test_G07_status_codes_404_403_400(client, api_key, fmt):
    assert client.get(f"{BASE}/requests/999999.{fmt}").status_code == 404
    assert client.get(f"{BASE}/services/no-such-service.{fmt}").status_code == 404
    assert post(client, fmt, "wrong-key").status_code == 403
    assert post(client, fmt, None).status_code == 403
    assert client.get(f"{BASE}/requests.{fmt}?status=maybe").status_code == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_G08_error_body_shape(client, catalogue, fmt):
    response = client.get(f"{BASE}/services/no-such-service.{fmt}")
    if fmt == "xml":
        assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<errors><error><code>404')
    errors = body_data(response)
    assert len(errors) == 1 and set(errors[0]) == {"code", "description"}
    assert str(errors[0]["code"]) == "404" and "no-such-service" in errors[0]["description"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_G09_single_jurisdiction_accepts_absent_or_own_id_and_404s_others(client, api_key, fmt, settings):
    assert client.get(f"{BASE}/services.{fmt}").status_code == 200
    own = settings.FIELDSVC_OPEN311_JURISDICTION
    assert client.get(f"{BASE}/services.{fmt}?jurisdiction_id={own}").status_code == 200
    assert client.get(f"{BASE}/services.{fmt}?jurisdiction_id=elsewhere.gov").status_code == 404
    assert post(client, fmt, api_key, jurisdiction_id=own).status_code == 201
    assert post(client, fmt, api_key, jurisdiction_id="elsewhere.gov").status_code == 404


def test_G10_xml_has_no_namespaces(client, api_key):
    post(client, "xml", api_key)
    for path in ("discovery", "services", "services/pothole", "requests"):
        body = client.get(f"{BASE}/{path}.xml").content
        assert b"xmlns" not in body and b"{" not in body.split(b"?>", 1)[1][:200]


@pytest.mark.parametrize("path", ["discovery", "services", "services/pothole", "requests"])
def test_G11_json_carries_the_same_data_as_xml(client, api_key, path):
    post(client, "json", api_key, description="same in both")
    xml = xml_data(client.get(f"{BASE}/{path}.xml").content)
    assert xml == as_text(orjson.loads(client.get(f"{BASE}/{path}.json").content))


def test_G12_ids_are_strings_in_json(client, api_key):
    response = post(client, "json", api_key)
    assert isinstance(orjson.loads(response.content)[0]["service_request_id"], str)
    item = orjson.loads(client.get(f"{BASE}/requests.json").content)[0]
    assert isinstance(item["service_request_id"], str)
    assert all(isinstance(s["service_code"], str) for s in orjson.loads(client.get(f"{BASE}/services.json").content))


def test_G13_cors_header_on_gets(client, catalogue):
    assert client.get(f"{BASE}/services.json")["Access-Control-Allow-Origin"] == "*"


# --- 2.2 Discovery -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_D01_D02_D03_discovery_fields(client, catalogue, fmt):
    response = client.get(f"{BASE}/discovery.{fmt}")
    assert response.status_code == 200
    body = body_data(response)
    assert all(body[k] for k in ("changeset", "contact", "key_service", "endpoints"))
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] in ("production", "test")
    assert "text/xml" in endpoint["formats"] and "application/json" in endpoint["formats"]


def test_D04_changeset_is_iso8601_in_the_past(client, catalogue):
    stamp = body_data(client.get(f"{BASE}/discovery.json"))["changeset"]
    assert dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= timezone.now()


def test_D05_xml_and_json_discovery_agree(client, catalogue):
    assert xml_data(client.get(f"{BASE}/discovery.xml").content) == as_text(
        orjson.loads(client.get(f"{BASE}/discovery.json").content)
    )


def test_D06_changeset_moves_when_the_catalogue_changes(client, catalogue):
    from workorders.models import Service

    before = body_data(client.get(f"{BASE}/discovery.json"))["changeset"]
    Service.objects.filter(code="pothole").update(updated_at=timezone.now() + dt.timedelta(seconds=2))
    assert body_data(client.get(f"{BASE}/discovery.json"))["changeset"] > before


def test_D07_html_page_at_the_endpoint_root(client, catalogue):
    response = client.get(f"{BASE}/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert b"discovery.xml" in response.content


# --- 2.3 Services ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_SL01_SL02_SL03_service_list(client, catalogue, fmt):
    services = body_data(client.get(f"{BASE}/services.{fmt}"))
    assert len(services) == 4
    for service in services:
        assert {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"} <= set(service)
        assert service["type"] in ("realtime", "batch", "blackbox")
        assert str(service["metadata"]).lower() in ("true", "false")
    codes = [s["service_code"] for s in services]
    assert len(codes) == len(set(codes))
    pothole = next(s for s in services if s["service_code"] == "pothole")
    assert str(pothole["metadata"]).lower() == "true" and pothole["keywords"] == "hole, road"


def test_SL04_json_service_list_is_a_bare_array(client, catalogue):
    assert isinstance(orjson.loads(client.get(f"{BASE}/services.json").content), list)


@pytest.mark.parametrize("fmt", FORMATS)
def test_SD01_SD02_SD03_service_definition(client, catalogue, fmt):
    body = body_data(client.get(f"{BASE}/services/pothole.{fmt}"))
    assert body["service_code"] == "pothole"
    attributes = body["attributes"]
    assert {a["datatype"] for a in attributes} == {"singlevaluelist", "number", "datetime", "string", "text",
                                                  "multivaluelist"}
    for attribute in attributes:
        assert {"variable", "code", "datatype", "required", "datatype_description", "order", "description"} <= set(
            attribute)
        if attribute["datatype"].endswith("valuelist"):
            assert all({"key", "name"} == set(v) for v in attribute["values"])
    orders = [int(a["order"]) for a in attributes]
    assert orders == sorted(orders) and len(set(orders)) == len(orders) and min(orders) >= 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_SD04_unknown_service_code_is_404(client, catalogue, fmt):
    assert client.get(f"{BASE}/services/nope.{fmt}").status_code == 404


def test_SD05_service_without_metadata_has_an_empty_definition(client, catalogue):
    # Documented choice: a service with metadata=false answers 200 with no attributes.
    body = body_data(client.get(f"{BASE}/services/streetlight-outage.json"))
    assert body == {"service_code": "streetlight-outage", "attributes": []}


# --- 2.4 POST requests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_PR01_post_returns_an_id_for_realtime_and_a_token_for_batch(client, api_key, fmt):
    realtime = body_data(post(client, fmt, api_key))[0]
    assert realtime.get("service_request_id") and not realtime.get("token")
    batch = post(client, fmt, api_key, service_code="building-inspection")
    assert batch.status_code == 201
    item = body_data(batch)[0]
    assert item.get("token") and not item.get("service_request_id")


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR02_missing_or_wrong_api_key_is_403_and_writes_nothing(client, api_key, fmt):
    assert post(client, fmt, None).status_code == 403
    assert post(client, fmt, "not-a-key").status_code == 403
    assert ServiceRequest.objects.count() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR03_unknown_service_404_missing_service_400(client, api_key, fmt):
    assert post(client, fmt, api_key, service_code="nope").status_code == 404
    assert post(client, fmt, api_key, service_code="").status_code == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR04_each_location_form_alone_and_none_is_400(client, api_key, fmt):
    assert post(client, fmt, api_key, lat=None, long=None).status_code == 400
    assert post(client, fmt, api_key).status_code == 201
    assert post(client, fmt, api_key, lat=None, long=None, address_string="1 City Hall Sq").status_code == 201
    assert post(client, fmt, api_key, lat=None, long=None, address_id="SAM-1234").status_code == 201


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR05_lat_without_long_is_400(client, api_key, fmt):
    assert post(client, fmt, api_key, long=None).status_code == 400
    assert post(client, fmt, api_key, lat=None).status_code == 400
    assert ServiceRequest.objects.count() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR06_missing_required_attribute_names_it(client, api_key, fmt):
    response = post(client, fmt, api_key, service_code="pothole")
    assert response.status_code == 400
    assert "SIZE required" in body_data(response)[0]["description"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR07_PR08_attributes_stored_and_checked(client, api_key, fmt):
    response = client.post(f"{BASE}/requests.{fmt}", {
        "api_key": api_key, "service_code": "pothole", "lat": LAT, "long": LON,
        "attribute[SIZE]": "large", "attribute[DEPTH]": "12.5", "attribute[SEEN]": "2026-05-01T08:00:00-04:00",
        "attribute[LANE]": "left", "attribute[HAZARDS][]": ["water", "traffic"],
    })
    assert response.status_code == 201
    request = ServiceRequest.objects.get(pk=created_id(response))
    assert request.attributes == {"SIZE": "large", "DEPTH": 12.5, "SEEN": "2026-05-01T08:00:00-04:00",
                                  "LANE": "left", "HAZARDS": ["water", "traffic"]}
    for bad in ({"attribute[SIZE]": "huge"}, {"attribute[SIZE]": "small", "attribute[DEPTH]": "deep"},
                {"attribute[SIZE]": "small", "attribute[SEEN]": "yesterday"},
                {"attribute[SIZE]": "small", "attribute[HAZARDS][]": ["water", "lava"]}):
        assert post(client, fmt, api_key, service_code="pothole", **bad).status_code == 400
    assert ServiceRequest.objects.count() == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR09_long_or_html_description_is_400(client, api_key, fmt):
    assert post(client, fmt, api_key, description="x" * 4001).status_code == 400
    assert post(client, fmt, api_key, description="<b>dark</b> street").status_code == 400
    assert post(client, fmt, api_key, description="x" * 4000).status_code == 201
    assert post(client, fmt, api_key, description="light < 3 m from the corner").status_code == 201


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR10_optional_fields_accepted_and_kept_private(client, api_key, fmt):
    response = post(client, fmt, api_key, email="ana@example.org", device_id="dev-1", account_id="acc-9",
                    first_name="Ana", last_name="Silva", phone="617-555-0100", description="dark",
                    media_url="https://example.org/p.jpg")
    assert response.status_code == 201
    request = ServiceRequest.objects.get(pk=created_id(response))
    assert (request.email, request.first_name, request.phone) == ("ana@example.org", "Ana", "617-555-0100")
    listing = client.get(f"{BASE}/requests.{fmt}").content
    for private in (b"ana@example.org", b"Silva", b"555-0100", b"dev-1", b"acc-9"):
        assert private not in listing


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR11_service_notice_returned(client, api_key, fmt):
    item = body_data(post(client, fmt, api_key, service_code="pothole", **{"attribute[SIZE]": "small"}))[0]
    assert item["service_notice"] == "We fix potholes within 3 days."


@pytest.mark.parametrize("fmt", FORMATS)
def test_PR12_created_request_is_visible_at_once(client, api_key, fmt):
    request_id = created_id(post(client, fmt, api_key))
    assert body_data(client.get(f"{BASE}/requests/{request_id}.{fmt}"))[0]["service_request_id"] == request_id


def test_PR13_repeated_media_urls_are_kept(client, api_key):
    response = client.post(f"{BASE}/requests.json", {
        "api_key": api_key, "service_code": "streetlight-outage", "lat": LAT, "long": LON,
        "media_url": ["https://example.org/1.jpg", "https://example.org/2.jpg"],
    })
    request = ServiceRequest.objects.get(pk=created_id(response))
    assert request.media_urls == ["https://example.org/1.jpg", "https://example.org/2.jpg"]
    for fmt in FORMATS:  # all of them in extended_attributes, the first as the spec's media_url
        item = body_data(client.get(f"{BASE}/requests/{request.pk}.{fmt}?extensions=true"))[0]
        assert item["media_url"] == "https://example.org/1.jpg"
        assert item["extended_attributes"]["media_urls"] == request.media_urls
    assert post(client, "json", api_key, media_url="javascript:alert(1)").status_code == 400


def test_PR15_unknown_attribute_keys_are_tolerated(client, api_key):
    response = post(client, "json", api_key, **{"attribute[fixmystreet_id]": "123", "attribute[uprn]": "9"})
    assert response.status_code == 201
    assert ServiceRequest.objects.get(pk=created_id(response)).attributes == {"fixmystreet_id": "123", "uprn": "9"}


def test_PR16_a_retry_with_the_same_idempotency_key_creates_nothing_new(client, api_key):
    first = client.post(f"{BASE}/requests.json", {"api_key": api_key, "service_code": "streetlight-outage",
                                                   "lat": LAT, "long": LON}, HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(f"{BASE}/requests.json", {"api_key": api_key, "service_code": "streetlight-outage",
                                                   "lat": LAT, "long": LON}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert created_id(first) == created_id(again) and ServiceRequest.objects.count() == 1


def test_PR16_a_device_resending_the_same_report_gets_the_first_one(client, api_key):
    first = post(client, "json", api_key, device_id="phone-7", description="dark")
    again = post(client, "json", api_key, device_id="phone-7", description="dark")
    other = post(client, "json", api_key, device_id="phone-7", description="dark again, next pole")
    assert created_id(first) == created_id(again) != created_id(other)
    assert ServiceRequest.objects.count() == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_TK01_TK02_token_gives_the_id_and_unknown_token_is_404(client, api_key, fmt):
    token = body_data(post(client, fmt, api_key, service_code="building-inspection"))[0]["token"]
    item = body_data(client.get(f"{BASE}/tokens/{token}.{fmt}"))[0]
    assert item["token"] == token
    assert ServiceRequest.objects.get(pk=item["service_request_id"]).token.hex == token.replace("-", "")
    assert client.get(f"{BASE}/tokens/00000000-0000-0000-0000-000000000000.{fmt}").status_code == 404


# --- 2.5 GET requests -----------------------------------------------------------------------------

def _make(client, api_key, count=1, **fields):
    return [created_id(post(client, "json", api_key, **fields)) for _ in range(count)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ01_default_is_the_last_90_days_at_most_1000(client, api_key, fmt, settings):
    recent, old = _make(client, api_key, 2)
    ServiceRequest.objects.filter(pk=old).update(requested_at=timezone.now() - dt.timedelta(days=91))
    ids = [r["service_request_id"] for r in body_data(client.get(f"{BASE}/requests.{fmt}"))]
    assert ids == [recent]
    settings.FIELDSVC_OPEN311_MAX_PAGE_SIZE = 1
    _make(client, api_key, 2)
    assert len(body_data(client.get(f"{BASE}/requests.{fmt}"))) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ02_RQ03_RQ09_each_item_has_the_17_fields(client, api_key, fmt):
    _make(client, api_key)
    item = body_data(client.get(f"{BASE}/requests.{fmt}"))[0]
    assert set(item) == REQUEST_FIELDS
    assert item["status"] in ("open", "closed")
    assert float(item["lat"]) == pytest.approx(LAT, abs=1e-6) and float(item["long"]) == pytest.approx(LON, abs=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ04_service_request_id_overrides_other_filters(client, api_key, fmt):
    a, b, c = _make(client, api_key, 3)
    body = body_data(client.get(f"{BASE}/requests.{fmt}?service_request_id={a},{c}&status=closed&service_code=x"))
    assert sorted(r["service_request_id"] for r in body) == sorted([a, c])


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ05_service_code_filter(client, api_key, fmt):
    _make(client, api_key)
    _make(client, api_key, service_code="pothole", **{"attribute[SIZE]": "small"})
    both = {"pothole", "streetlight-outage"}
    for codes, expected in (("pothole", {"pothole"}), ("pothole,streetlight-outage", both)):
        body = body_data(client.get(f"{BASE}/requests.{fmt}?service_code={codes}"))
        assert {r["service_code"] for r in body} == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ06_status_filter(client, api_key, fmt):
    _make(client, api_key)
    _make(client, api_key, service_code="trash-schedule")  # an inquiry is closed when logged
    for status, expected in (("open", ["open"]), ("closed", ["closed"]), ("open,closed", ["closed", "open"])):
        body = body_data(client.get(f"{BASE}/requests.{fmt}?status={status}"))
        assert sorted(r["status"] for r in body) == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ07_date_window_filters_and_more_than_90_days_is_400(client, api_key, fmt):
    first, second = _make(client, api_key, 2)
    ServiceRequest.objects.filter(pk=first).update(requested_at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
    body = body_data(client.get(f"{BASE}/requests.{fmt}?start_date=2026-02-01T00:00:00Z&end_date=2026-04-01T00:00:00Z"))
    assert [r["service_request_id"] for r in body] == [first]
    # start inclusive, end exclusive (documented)
    at = "2026-03-01T12:00:00Z"
    assert len(body_data(client.get(f"{BASE}/requests.{fmt}?start_date={at}&end_date=2026-03-02T00:00:00Z"))) == 1
    assert body_data(client.get(f"{BASE}/requests.{fmt}?start_date=2026-02-01T00:00:00Z&end_date={at}")) == []
    too_long = client.get(f"{BASE}/requests.{fmt}?start_date=2026-01-01T00:00:00Z&end_date=2026-05-01T00:00:00Z")
    assert too_long.status_code == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ08_closed_request_updated_datetime_is_its_closing_time(client, api_key, fmt):
    (inquiry,) = _make(client, api_key, service_code="trash-schedule")
    closed_at = ServiceRequest.objects.get(pk=inquiry).closed_at
    ServiceRequest.objects.filter(pk=inquiry).update(updated_at=closed_at + dt.timedelta(hours=5))
    item = body_data(client.get(f"{BASE}/requests/{inquiry}.{fmt}"))[0]
    assert dt.datetime.fromisoformat(item["updated_datetime"]) == closed_at.replace(microsecond=0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ10_single_request_is_a_one_item_list_and_unknown_is_404(client, api_key, fmt):
    (request_id,) = _make(client, api_key)
    body = body_data(client.get(f"{BASE}/requests/{request_id}.{fmt}"))
    assert isinstance(body, list) and len(body) == 1
    assert client.get(f"{BASE}/requests/{int(request_id) + 1000}.{fmt}").status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ11_newest_first(client, api_key, fmt):
    ids = _make(client, api_key, 3)
    for offset, request_id in enumerate(ids):
        ServiceRequest.objects.filter(pk=request_id).update(requested_at=timezone.now() - dt.timedelta(hours=offset))
    assert [r["service_request_id"] for r in body_data(client.get(f"{BASE}/requests.{fmt}"))] == ids


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ12_pages(client, api_key, fmt):
    ids = _make(client, api_key, 5)[::-1]  # newest first
    pages = [body_data(client.get(f"{BASE}/requests.{fmt}?page_size=2&page={n}")) for n in (1, 2, 3, 4)]
    assert [[r["service_request_id"] for r in p] for p in pages] == [ids[:2], ids[2:4], ids[4:], []]
    assert client.get(f"{BASE}/requests.{fmt}?page_size=-1").status_code == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ13_updated_after_and_before(client, api_key, fmt):
    old, new = _make(client, api_key, 2)
    ServiceRequest.objects.filter(pk=old).update(updated_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC))
    after = body_data(client.get(f"{BASE}/requests.{fmt}?updated_after=2026-02-01T00:00:00Z"))
    before = body_data(client.get(f"{BASE}/requests.{fmt}?updated_before=2026-02-01T00:00:00Z"))
    assert [r["service_request_id"] for r in after] == [new]
    assert [r["service_request_id"] for r in before] == [old]


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ14_bbox_and_nearby_in_metres_nearest_first(client, api_key, fmt):
    here = _make(client, api_key)[0]
    # ~0.001 deg of latitude is ~111 m north; 0.01 deg is ~1.1 km.
    near = _make(client, api_key, lat=LAT + 0.001)[0]
    far = _make(client, api_key, lat=LAT + 0.01)[0]
    nearby = body_data(client.get(f"{BASE}/requests.{fmt}?lat={LAT}&long={LON}&radius=200"))
    assert [r["service_request_id"] for r in nearby] == [here, near]
    everything = body_data(client.get(f"{BASE}/requests.{fmt}?lat={LAT + 0.011}&long={LON}"))
    assert [r["service_request_id"] for r in everything] == [far, near, here]
    box = f"{LON - 0.001},{LAT + 0.0005},{LON + 0.001},{LAT + 0.002}"
    assert [r["service_request_id"] for r in body_data(client.get(f"{BASE}/requests.{fmt}?bbox={box}"))] == [near]
    assert client.get(f"{BASE}/requests.{fmt}?lat={LAT}&long={LON}&radius=999999").status_code == 400
    assert client.get(f"{BASE}/requests.{fmt}?bbox=1,2,3").status_code == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ17_public_listing_has_no_personal_details(client, api_key, fmt):
    _make(client, api_key, email="private@example.org", first_name="Zed", phone="555-0199", device_id="zz-device")
    body = client.get(f"{BASE}/requests.{fmt}").content + client.get(f"{BASE}/requests/1.{fmt}").content
    for private in (b"private@example.org", b"Zed", b"555-0199", b"zz-device"):
        assert private not in body


def test_locale_translates_the_catalogue(client, catalogue):
    services = body_data(client.get(f"{BASE}/services.json?locale=es-MX"))
    assert next(s for s in services if s["service_code"] == "pothole")["service_name"] == "Bache"
    definition = body_data(client.get(f"{BASE}/services/pothole.json?locale=es"))
    size = definition["attributes"][0]
    assert size["description"] == "¿Qué tamaño tiene?"
    assert size["values"] == [{"key": "small", "name": "Pequeño"}, {"key": "large", "name": "Grande"}]
    english = body_data(client.get(f"{BASE}/services.json?locale=xx"))
    assert next(s for s in english if s["service_code"] == "pothole")["service_name"] == "Pothole"


@pytest.mark.parametrize("fmt", FORMATS)
def test_RQ15_extensions_add_extended_attributes_and_notes(client, api_key, fmt, django_assert_max_num_queries,
                                                           settings):
    first = _make(client, api_key, email="a@example.org")[0]
    duplicate = _make(client, api_key, lat=LAT + 0.0001)[0]
    _make(client, api_key, lat=LAT + 0.01)
    settings.FIELDSVC_CATALOGUE_RECHECK_S = 3600  # steady state: the process's catalogue copy is warm
    client.get(f"{BASE}/services.json")
    with django_assert_max_num_queries(3):  # the page of requests, all their notes, their neighbourhoods
        body = body_data(client.get(f"{BASE}/requests.{fmt}?extensions=true"))
    by_id = {r["service_request_id"]: r for r in body}
    extended = by_id[duplicate]["extended_attributes"]
    assert extended["detailed_status"] == "duplicate" and str(extended["duplicate"]).lower() == "true"
    assert extended["parent_service_request_id"] == first and extended["department"] == "street-lighting"
    notes = by_id[first]["notes"]
    assert [n["type"] for n in notes] == ["submitted", "activity"] and all(W3C.match(n["datetime"]) for n in notes)
    single = body_data(client.get(f"{BASE}/requests/{first}.{fmt}?extensions=true"))[0]
    assert single["extended_attributes"]["reference"] and b"a@example.org" not in client.get(
        f"{BASE}/requests/{first}.{fmt}?extensions=true").content
    assert set(body_data(client.get(f"{BASE}/requests/{first}.{fmt}"))[0]) == REQUEST_FIELDS


def test_an_inquiry_needs_no_location_is_logged_closed_with_its_channel(client, api_key):
    response = post(client, "json", api_key, service_code="trash-schedule", lat=None, long=None, channel="phone",
                    description="When is recycling picked up on Elm St?")
    assert response.status_code == 201
    inquiry = ServiceRequest.objects.get(pk=created_id(response))
    expected = ("closed", "noted", "phone", None)
    assert (inquiry.status, inquiry.detailed_status, inquiry.channel, inquiry.geom) == expected
    assert post(client, "json", api_key, lat=None, long=None).status_code == 400  # a report still needs a place
    assert post(client, "json", api_key, channel="carrier-pigeon").status_code == 400


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # enough of a PNG for the signature check


def test_PR14_photos_upload_as_media_or_photoN_and_are_served_back(client, api_key, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    response = client.post(f"{BASE}/requests.json", {
        "api_key": api_key, "service_code": "streetlight-outage", "lat": LAT, "long": LON,
        "media": SimpleUploadedFile("lamp.png", PNG, content_type="image/png"),
        "photo2": SimpleUploadedFile("also.png", PNG, content_type="image/png"),
        "media_url": "https://example.org/extra.jpg",
    })
    assert response.status_code == 201
    request = ServiceRequest.objects.get(pk=created_id(response))
    assert len(request.media_urls) == 3 and request.media_urls[2] == "https://example.org/extra.jpg"
    item = body_data(client.get(f"{BASE}/requests/{request.pk}.json"))[0]
    assert item["media_url"] == request.media_urls[0]
    served = client.get(item["media_url"].replace("http://testserver", ""))
    assert served.status_code == 200 and b"".join(served.streaming_content) == PNG


@pytest.mark.parametrize("upload", ["not an image", "too big", "too many"])
def test_PR14_bad_uploads_are_400_and_leave_nothing_behind(client, api_key, settings, tmp_path, upload):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    settings.FIELDSVC_MEDIA_MAX_BYTES = 1000
    files = {
        "not an image": [SimpleUploadedFile("x.png", b"<?php evil ?>", content_type="image/png")],
        "too big": [SimpleUploadedFile("big.png", PNG + b"\x00" * 1000, content_type="image/png")],
        "too many": [SimpleUploadedFile(f"p{n}.png", PNG, content_type="image/png") for n in range(6)],
    }[upload]
    response = client.post(f"{BASE}/requests.json", {"api_key": api_key, "service_code": "streetlight-outage",
                                                      "lat": LAT, "long": LON, "media": files})
    assert response.status_code == 400
    assert ServiceRequest.objects.count() == 0 and not any(tmp_path.rglob("*.*"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_q_finds_requests_by_words_in_description_or_address(client, api_key, fmt):
    dark = _make(client, api_key, description="Light flickering all night", address_string="12 Elm Street")[0]
    _make(client, api_key, lat=LAT + 0.01, description="Lamp post leaning", address_string="3 Oak Ave")
    found = body_data(client.get(f"{BASE}/requests.{fmt}?q=flickering"))
    assert [r["service_request_id"] for r in found] == [dark]
    assert [r["service_request_id"] for r in body_data(client.get(f"{BASE}/requests.{fmt}?q=elm street"))] == [dark]
    assert body_data(client.get(f"{BASE}/requests.{fmt}?q=pothole")) == []


def test_huge_ids_are_not_found_not_server_errors(client, catalogue):
    assert client.get(f"{BASE}/requests/99999999999999999999999.json").status_code == 404
    assert client.get(f"{BASE}/requests.json?service_request_id=99999999999999999999999").status_code == 400
    assert client.get("/requests/99999999999999999999999").status_code == 404


def test_absurd_page_numbers_are_400(client, catalogue):
    assert client.get(f"{BASE}/requests.json?page=" + "9" * 30).status_code == 400
    assert client.get(f"{BASE}/servicerequestupdates.json?page_size=" + "9" * 30).status_code == 400
