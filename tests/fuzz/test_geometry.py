"""Geometry inputs fuzzed where they enter: Open311 POST and search, dispatcher and crew positions, work order
bounding boxes, and WFS-T inserts and updates (NaN, infinities, out-of-range lat/long, huge or
self-intersecting polygons, the wrong CRS). A refusal is a 4xx with the interface's error body, nothing written."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis import crs, editing
from tests.fuzz.support import COORD_JSON, COORD_TEXT, FLOATS, NEAR_RANGE, answered

pytestmark = pytest.mark.django_db


@given(lat=COORD_TEXT, long=COORD_TEXT, fmt=st.sampled_from(["json", "xml"]))
def test_open311_post_with_any_coordinates_is_stored_or_refused_cleanly(city, snapshot, client, lat, long, fmt):
    form = {"api_key": city["api_key"], "service_code": "streetlight-outage", "lat": lat, "long": long,
            "description": "Light out"}
    before = snapshot()
    response = client.post(f"/open311/v2/requests.{fmt}", form)
    answered("geometry", response, f"POST requests {form}", before=before, snapshot=snapshot)


@given(lat=COORD_TEXT, long=COORD_TEXT, radius=COORD_TEXT, bbox=st.lists(COORD_TEXT, min_size=0, max_size=5))
def test_open311_search_by_place_never_fails(city, client, lat, long, radius, bbox):
    query = {"lat": lat, "long": long, "radius": radius} if len(bbox) % 2 else {"bbox": ",".join(bbox)}
    response = client.get("/open311/v2/requests.json", query)
    answered("geometry", response, f"GET requests {query}")


@given(lon=COORD_JSON, lat=COORD_JSON, accuracy=COORD_JSON, as_form=st.booleans())
def test_a_dispatchers_crew_position_is_recorded_or_refused_cleanly(city, snapshot, client, lon, lat, accuracy,
                                                                     as_form):
    crew = city["people"]["crew"]
    body = {"lon": lon, "lat": lat, "accuracy_m": accuracy}
    before = snapshot()
    if as_form:
        form = {k: "" if v is None else str(v) for k, v in body.items()}
        response = client.post(f"/api/crews/{crew.pk}/positions", form,
                               headers={"Authorization": city["dispatcher"]})
    else:
        response = client.post(f"/api/crews/{crew.pk}/positions", json.dumps(body), content_type="application/json",
                               headers={"Authorization": city["dispatcher"]})
    answered("geometry", response, f"crew position {body}", before=before, snapshot=snapshot)


@given(pings=st.lists(st.fixed_dictionaries({"lon": COORD_JSON, "lat": COORD_JSON},
                                            optional={"accuracy_m": COORD_JSON, "at": st.text(max_size=30)}),
                      min_size=1, max_size=4))
def test_crew_tablet_pings_are_recorded_or_refused_cleanly(city, snapshot, client, pings):
    before = snapshot()
    response = client.post("/api/field/positions", json.dumps({"pings": pings}), content_type="application/json",
                           headers={"Authorization": city["crew_member"]})
    answered("geometry", response, f"field pings {pings}", before=before, snapshot=snapshot)


@given(bbox=st.lists(COORD_TEXT, min_size=1, max_size=5))
def test_work_orders_in_a_box_never_fail(city, client, bbox):
    response = client.get("/api/work-orders", {"bbox": ",".join(bbox)}, headers={"Authorization": city["dispatcher"]})
    answered("geometry", response, f"work orders bbox {bbox}")


# --- WFS-T ---------------------------------------------------------------------------------------------------

WFS1 = "http://www.opengis.net/wfs"
GML = "http://www.opengis.net/gml"
X, Y = crs.storage_point(-71.1043, 42.3670)  # Cambridge City Hall, in the storage CRS
NUMBER = st.one_of(NEAR_RANGE.map(lambda v: repr(X + v)), FLOATS.map(repr), st.sampled_from(
    ["nan", "inf", "-inf", "1e999", "", "1,2", "x", "-0", "1e308"]))
SRS = st.sampled_from(["EPSG:26986", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "EPSG:3857", "EPSG:0",
                       "EPSG:999999", "EPSG:-1", "urn:ogc:def:crs:EPSG::26986", "nonsense", ""])


def _pairs(draw, n: int) -> str:
    return " ".join(f"{draw(NUMBER)},{draw(NUMBER)}" for _ in range(n))


@st.composite
def geometries(draw) -> str:
    """GML 2 geometry text: points, lines, polygons (closed or not, bow-ties, thousands of vertices)."""
    srs = draw(SRS)
    kind = draw(st.sampled_from(["Point", "LineString", "Polygon", "bowtie", "huge", "MultiPoint"]))
    attr = f' srsName="{srs}"' if srs else ""
    if kind == "Point":
        return f"<gml:Point{attr}><gml:coordinates>{_pairs(draw, 1)}</gml:coordinates></gml:Point>"
    if kind == "LineString":
        return f"<gml:LineString{attr}><gml:coordinates>{_pairs(draw, draw(st.integers(0, 4)))}" \
               "</gml:coordinates></gml:LineString>"
    if kind == "bowtie":  # self-intersecting ring
        ring = f"{X},{Y} {X + 10},{Y + 10} {X + 10},{Y} {X},{Y + 10} {X},{Y}"
    elif kind == "huge":
        n = draw(st.sampled_from([1000, 20000]))
        ring = " ".join(f"{X + (i % 97) * 0.5},{Y + (i * 7919 % 89) * 0.5}" for i in range(n)) + f" {X + 0},{Y}"
    elif kind == "MultiPoint":
        return f"<gml:MultiPoint{attr}><gml:pointMember><gml:Point><gml:coordinates>{_pairs(draw, 1)}" \
               "</gml:coordinates></gml:Point></gml:pointMember></gml:MultiPoint>"
    else:
        ring = _pairs(draw, draw(st.integers(0, 5)))
    return f"<gml:Polygon{attr}><gml:outerBoundaryIs><gml:LinearRing><gml:coordinates>{ring}</gml:coordinates>" \
           "</gml:LinearRing></gml:outerBoundaryIs></gml:Polygon>"


FEATURES = st.sampled_from(["asset_streetlight", "asset_road_segment", "utility_line", "utility_structure"])


def _insert(feature: str, geometry: str) -> bytes:
    props = {"utility_line": "<fieldsvc:kind>water</fieldsvc:kind>",
             "utility_structure": "<fieldsvc:kind>water</fieldsvc:kind><fieldsvc:structure_type>valve"
                                  "</fieldsvc:structure_type>"}.get(feature, "<fieldsvc:external_id>F-1"
                                                                             "</fieldsvc:external_id>")
    return (f'<Transaction xmlns="{WFS1}" xmlns:fieldsvc="http://fieldsvc.org/wfs" xmlns:gml="{GML}" service="WFS" '
            f'version="1.0.0"><Insert><fieldsvc:{feature}>{props}<fieldsvc:geom>{geometry}</fieldsvc:geom>'
            f'</fieldsvc:{feature}></Insert></Transaction>').encode()


def _update(feature_id: int, geometry: str) -> bytes:
    return (f'<Transaction xmlns="{WFS1}" xmlns:fieldsvc="http://fieldsvc.org/wfs" xmlns:gml="{GML}" '
            f'xmlns:ogc="http://www.opengis.net/ogc" service="WFS" version="1.0.0"><Update typeName='
            f'"fieldsvc:asset_streetlight"><Property><Name>geom</Name><Value>{geometry}</Value></Property>'
            f'<ogc:Filter><ogc:FeatureId fid="asset_streetlight.{feature_id}"/></ogc:Filter></Update>'
            f'</Transaction>').encode()


@pytest.fixture
def gis_editor(city):
    from django.contrib.auth import get_user_model

    from tests.fuzz.conftest import basic

    user = get_user_model().objects.create_user("gina", password="pw-gina", is_staff=True)
    user.groups.add(editing.gis_editors_group())
    return basic("gina", "pw-gina")


@given(feature=FEATURES, geometry=geometries(), update=st.booleans())
def test_wfs_t_inserts_and_updates_of_any_geometry_are_applied_or_refused_cleanly(city, snapshot, client,
                                                                                  gis_editor, feature, geometry,
                                                                                  update):
    from gis.models import Asset

    lamp = Asset.objects.filter(asset_type__code="streetlight").order_by("pk").first()
    body = _update(lamp.pk, geometry) if update else _insert(feature, geometry)
    before = snapshot()
    response = client.post("/wfs/?SERVICE=WFS", data=body, content_type="text/xml",
                           headers={"Authorization": gis_editor})
    answered("geometry", response, body.decode()[:1500], before=before, snapshot=snapshot)
