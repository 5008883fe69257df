"""Who sees what over WFS: work orders only for staff and only their departments' (all for superusers), Basic
credentials checked (401 with a challenge), and no reporter's personal data in any public output."""

import json

import pytest
from django.contrib.auth import get_user_model

from tests.wfs.support import (
    CSV,
    GEOJSON,
    GML,
    PASSWORD,
    PERSONAL,
    basic,
    exception,
    feature_type_names,
    values,
    xml,
)

pytestmark = pytest.mark.django_db


def work_order_titles(wfs, headers: dict) -> list[str]:
    answer, data = wfs(REQUEST="GetFeature", TYPENAMES="work_order", headers=headers)
    assert answer.status_code == 200, data
    return values(xml(data), "title")


def test_anonymous_callers_see_no_work_orders_and_get_an_exception_asking_for_them(wfs, city):
    _, capabilities = wfs(REQUEST="GetCapabilities")
    names = feature_type_names(capabilities)
    assert "fieldsvc:service_request" in names and "fieldsvc:work_order" not in names
    for request in ("GetFeature", "DescribeFeatureType", "GetPropertyValue"):
        answer, data = wfs(REQUEST=request, TYPENAMES="work_order", VALUEREFERENCE="title")
        assert answer.status_code == 400
        assert exception(data)[:2] == ("InvalidParameterValue", "typeNames")
        assert b"Relamp" not in data and b"Patch" not in data


def test_a_signed_in_user_who_is_not_staff_sees_no_work_orders(wfs, city):
    get_user_model().objects.create_user("resident", password=PASSWORD)
    _, capabilities = wfs(REQUEST="GetCapabilities", headers=basic("resident"))
    assert "fieldsvc:work_order" not in feature_type_names(capabilities)


def test_a_wrong_password_is_a_401_with_a_basic_challenge(wfs, staff_a):
    for headers in (basic("gis-a", "wrong"), basic("nobody"), {"Authorization": "Basic !!not-base64!!"}):
        answer, data = wfs(REQUEST="GetCapabilities", headers=headers)
        assert answer.status_code == 401
        assert answer["WWW-Authenticate"].startswith('Basic realm="fieldsvc WFS"')
        code, locator, text = exception(data)
        assert (code, locator) == ("OperationProcessingFailed", "Authorization") and PASSWORD not in text


def test_staff_see_only_the_work_orders_of_their_departments(wfs, city, staff_a):
    assert work_order_titles(wfs, basic("gis-a")) == ["Relamp A-0", "Relamp A-1"]
    _, data = wfs(REQUEST="GetFeature", TYPENAMES="work_order", RESULTTYPE="hits", headers=basic("gis-a"))
    assert xml(data).get("numberMatched") == "2"
    # Department B's work cannot be reached by id either.
    other = city.work_b[0]
    answer, data = wfs(REQUEST="GetFeature", STOREDQUERY_ID="urn:ogc:def:query:OGC-WFS::GetFeatureById",
                       ID=f"work_order.{other.pk}", headers=basic("gis-a"))
    assert answer.status_code == 404 and b"Patch" not in data


def test_staff_without_a_department_role_see_an_empty_work_order_layer(wfs, city):
    get_user_model().objects.create_user("gis-none", password=PASSWORD, is_staff=True)
    assert work_order_titles(wfs, basic("gis-none")) == []


def test_superusers_see_every_work_order(wfs, city, superuser):
    assert work_order_titles(wfs, basic("gis-root")) == [
        "Relamp A-0", "Relamp A-1", "Patch B-0", "Patch B-1", "Patch B-2"]


def test_a_browser_session_counts_like_basic_credentials(client, wfs, city, staff_a):
    client.force_login(staff_a)
    assert work_order_titles(wfs, {}) == ["Relamp A-0", "Relamp A-1"]


def test_a_changed_password_stops_the_remembered_credentials_at_once(wfs, city, staff_a):
    assert work_order_titles(wfs, basic("gis-a")) == ["Relamp A-0", "Relamp A-1"]  # now remembered
    staff_a.set_password("a-new-password")
    staff_a.save()
    answer, _ = wfs(REQUEST="GetFeature", TYPENAMES="work_order", headers=basic("gis-a"))
    assert answer.status_code == 401
    assert work_order_titles(wfs, basic("gis-a", "a-new-password")) == ["Relamp A-0", "Relamp A-1"]


def test_a_deactivated_user_loses_access_at_once(wfs, city, staff_a):
    assert work_order_titles(wfs, basic("gis-a"))
    get_user_model().objects.filter(pk=staff_a.pk).update(is_active=False)
    answer, _ = wfs(REQUEST="GetCapabilities", headers=basic("gis-a"))
    assert answer.status_code == 401


def assert_no_personal_data(data: bytes):
    text = data.decode().lower()
    for field, value in PERSONAL.items():
        assert value.lower() not in text, f"the reporter's {field} leaked"
    for word in ("quillonia", "vextrabridge", "zorbleflux", "555 0199"):
        assert word not in text


@pytest.mark.parametrize("params", [
    {"REQUEST": "GetFeature", "OUTPUTFORMAT": GML},
    {"REQUEST": "GetFeature", "OUTPUTFORMAT": GEOJSON},
    {"REQUEST": "GetFeature", "OUTPUTFORMAT": CSV},
    {"REQUEST": "GetFeature", "SRSNAME": "urn:ogc:def:crs:EPSG::4326"},
    {"REQUEST": "DescribeFeatureType"},
])
def test_service_requests_never_carry_the_reporters_personal_data(wfs, city, superuser, params):
    for headers in ({}, basic("gis-root")):  # not even for staff: this type is the public view
        answer, data = wfs(TYPENAMES="service_request", headers=headers, **params)
        assert answer.status_code == 200
        assert city.request.reference.encode() in data or params["REQUEST"] == "DescribeFeatureType"
        assert_no_personal_data(data)


def test_every_public_property_of_a_service_request_is_free_of_personal_data(wfs, city):
    _, schema = wfs(REQUEST="DescribeFeatureType", TYPENAMES="service_request")
    properties = [e.get("name") for e in xml(schema).iterfind(".//{http://www.w3.org/2001/XMLSchema}sequence/*")]
    assert not set(properties) & {"email", "phone", "first_name", "last_name", "device_id", "account_id",
                                  "description", "status_notes", "attributes"}
    for prop in properties:
        answer, data = wfs(REQUEST="GetPropertyValue", TYPENAMES="service_request", VALUEREFERENCE=prop)
        assert answer.status_code == 200, (prop, data)
        assert_no_personal_data(data)


@pytest.mark.parametrize("field", sorted(PERSONAL))
def test_personal_fields_cannot_be_filtered_sorted_or_projected(wfs, city, field):
    """A filter on a hidden field would leak it one guess at a time: hidden fields must not exist at all."""
    value = PERSONAL[field]
    flt = ('<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:PropertyIsEqualTo>'
           f"<fes:ValueReference>{field}</fes:ValueReference><fes:Literal>{value}</fes:Literal>"
           "</fes:PropertyIsEqualTo></fes:Filter>")
    for params in ({"FILTER": flt}, {"SORTBY": f"{field} DESC"}, {"PROPERTYNAME": field},
                   {"REQUEST": "GetPropertyValue", "VALUEREFERENCE": field}):
        answer, data = wfs(**{"REQUEST": "GetFeature", "TYPENAMES": "service_request", **params})
        assert answer.status_code == 400, (params, data[:300])
        assert_no_personal_data(data.replace(field.encode(), b""))


def test_geojson_of_service_requests_has_only_the_public_properties(wfs, city):
    _, data = wfs(REQUEST="GetFeature", TYPENAMES="service_request", OUTPUTFORMAT=GEOJSON)
    [feature] = json.loads(data)["features"]
    assert set(feature["properties"]) == {
        "id", "reference", "service_code", "service_name", "status", "detailed_status", "agency_responsible",
        "address_string", "zipcode", "requested_at", "updated_at", "expected_at", "closed_at", "channel"}
