"""WFS-T: transactions exactly as QGIS 3.22 sends them, 2.0 transactions, validation, all-or-nothing, audit,
permissions, and what follows an edit (re-linking, tile invalidation)."""

import base64
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import LineString, Point
from lxml import etree

from gis import crs, editing
from gis.models import Asset, AssetType, EditRecord, UtilityLine, UtilityStructure
from tests.wfs import xsd
from workorders import cached, linking, services
from workorders.models import RequestLink
from workorders.services import RequestInput, request_create

HERE = Path(__file__).resolve().parent
X, Y = crs.storage_point(-71.1043, 42.3670)  # Cambridge City Hall
WFS1 = "http://www.opengis.net/wfs"
OGC = "http://www.opengis.net/ogc"
OWS = "http://www.opengis.net/ows/1.1"


def valid_wfs_10(xml: bytes) -> None:
    """The WFS 1.0.0 TransactionResponse schema (and Filter 1.0, GML 2.1.2), from the local copies."""
    wrapper = (b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://fieldsvc.test/w">'
               b'<xs:import namespace="http://www.opengis.net/wfs" '
               b'schemaLocation="http://schemas.opengis.net/wfs/1.0.0/WFS-transaction.xsd"/></xs:schema>')
    schema = xsd.compile_schema(wrapper, base_url="http://fieldsvc.test/wfs10.xsd")
    assert schema.validate(etree.fromstring(xml)), schema.error_log


def qgis_body(name: str, **values) -> bytes:
    """One of the transactions QGIS 3.22 sent to this server (captured verbatim), with the feature id filled in."""
    text = (HERE / f"qgis_{name}.xml").read_text()
    return text.replace("{server}", "http://testserver/wfs/").replace("{fid}", str(values.get("fid", ""))).encode()


def basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture
def editor(registry):
    user = User.objects.create_user("editor", password="editor-pass-1", is_staff=True)
    user.groups.add(editing.gis_editors_group())
    return user


@pytest.fixture
def as_editor(editor):
    return basic("editor", "editor-pass-1")


def post(client, body: bytes, auth: dict):
    return client.post("/wfs/?SERVICE=WFS", data=body, content_type="text/xml", **auth)


def exception(response) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    assert etree.QName(root).localname == "ExceptionReport", response.content
    found = root.find(f"{{{OWS}}}Exception")
    return found.get("exceptionCode"), found.findtext(f"{{{OWS}}}ExceptionText").strip()


def streetlight_at(x: float, y: float, external_id: str = "L-1", **extra) -> Asset:
    return Asset.objects.create(asset_type=AssetType.objects.get(code="streetlight"), external_id=external_id,
                                geom=Point(x, y, srid=crs.storage_srid()), **extra)


def gml_insert(feature: str, *, geometry: str, srs: str = "EPSG:26986", version: str = "1.0.0", **props) -> bytes:
    values = "".join(f"<fieldsvc:{k}>{v}</fieldsvc:{k}>" for k, v in props.items())
    return (f'<Transaction xmlns="{WFS1}" xmlns:fieldsvc="http://fieldsvc.org/wfs" xmlns:gml="http://www.opengis.net/gml"'
            f' service="WFS" version="{version}"><Insert><fieldsvc:{feature}>{values}<fieldsvc:geom>'
            f'{geometry.format(srs=srs)}</fieldsvc:geom></fieldsvc:{feature}></Insert></Transaction>').encode()


def point_gml(x: float, y: float) -> str:
    return f'<gml:Point srsName="{{srs}}"><gml:coordinates cs="," ts=" ">{x},{y}</gml:coordinates></gml:Point>'


def test_qgis_round_trip_insert_update_delete_with_audit(client, as_editor, editor):
    body = qgis_body("insert").replace(b"232500,901500", f"{X},{Y}".encode())
    response = post(client, body, as_editor)
    assert response.status_code == 200, response.content
    valid_wfs_10(response.content)
    root = etree.fromstring(response.content)
    assert root.find(f"{{{WFS1}}}TransactionResult/{{{WFS1}}}Status/{{{WFS1}}}SUCCESS") is not None
    fid = root.find(f"{{{WFS1}}}InsertResult/{{{OGC}}}FeatureId").get("fid")
    lamp = Asset.objects.get(pk=int(fid.rpartition(".")[2]))
    assert fid == f"asset_streetlight.{lamp.pk}"
    assert (lamp.asset_type.code, lamp.external_id, lamp.status, lamp.condition) == ("streetlight", "qgis-test-1",
                                                                                       "active", 77)
    assert lamp.geom.coords == pytest.approx((X, Y))

    assert post(client, qgis_body("update_attribute", fid=lamp.pk), as_editor).status_code == 200
    lamp.refresh_from_db()
    assert lamp.condition == 55
    moved = qgis_body("update_geometry", fid=lamp.pk).replace(b"232510,901510", f"{X + 10},{Y + 10}".encode())
    assert post(client, moved, as_editor).status_code == 200
    lamp.refresh_from_db()
    assert lamp.geom.coords == pytest.approx((X + 10, Y + 10))
    deleted = post(client, qgis_body("delete", fid=lamp.pk), as_editor)
    assert deleted.status_code == 200
    valid_wfs_10(deleted.content)
    assert not Asset.objects.filter(pk=lamp.pk).exists()

    trail = list(EditRecord.objects.filter(object_id=lamp.pk).order_by("id"))
    assert [r.action for r in trail] == ["insert", "update", "update", "delete"]
    assert {(r.user_id, r.username, r.feature_type) for r in trail} == {(editor.pk, "editor", "asset_streetlight")}
    assert trail[1].before["condition"] == 77 and trail[1].after["condition"] == 55
    assert trail[2].after["geom"].startswith(f"SRID={crs.storage_srid()};POINT")
    assert trail[3].after is None and trail[3].before["external_id"] == "qgis-test-1"
    assert len({r.transaction_id for r in trail}) == 4 and all(r.at for r in trail)


def test_a_bad_geometry_rejects_the_whole_transaction_and_writes_nothing(client, as_editor):
    lamp = streetlight_at(X, Y)
    body = f"""<Transaction xmlns="{WFS1}" xmlns:fieldsvc="http://fieldsvc.org/wfs" xmlns:gml="http://www.opengis.net/gml"
      xmlns:ogc="{OGC}" service="WFS" version="1.0.0">
      <Insert><fieldsvc:asset_streetlight><fieldsvc:external_id>good</fieldsvc:external_id>
        <fieldsvc:geom>{point_gml(X + 5, Y).format(srs="EPSG:26986")}</fieldsvc:geom>
      </fieldsvc:asset_streetlight></Insert>
      <Update typeName="fieldsvc:asset_streetlight"><Property><Name>condition</Name><Value>10</Value></Property>
        <ogc:Filter><ogc:FeatureId fid="asset_streetlight.{lamp.pk}"/></ogc:Filter></Update>
      <Insert handle="the bad one"><fieldsvc:asset_road_segment><fieldsvc:geom>
        <gml:LineString srsName="EPSG:26986"><gml:coordinates>{X},{Y} {X},{Y}</gml:coordinates></gml:LineString>
      </fieldsvc:geom></fieldsvc:asset_road_segment></Insert></Transaction>""".encode()
    response = post(client, body, as_editor)
    assert response.status_code == 400
    xsd.assert_valid(response.content)  # an OWS 1.1 ExceptionReport
    code, text = exception(response)
    assert code == "InvalidParameterValue" and "invalid geometry" in text and "Too few points" in text
    assert etree.fromstring(response.content).find(f"{{{OWS}}}Exception").get("locator") == "the bad one"
    assert not Asset.objects.filter(external_id="good").exists()
    lamp.refresh_from_db()
    assert lamp.condition is None and not EditRecord.objects.exists()


@pytest.mark.parametrize(("feature", "geometry", "props", "message"), [
    ("asset_streetlight", "<gml:Point><gml:coordinates>-71.1,42.3</gml:coordinates></gml:Point>", {},
     "outside the valid area of the storage CRS"),
    ("asset_streetlight", '<gml:LineString srsName="{srs}"><gml:coordinates>{x},{y} {x2},{y}</gml:coordinates>'
     "</gml:LineString>", {}, "the geometry is a LineString; this layer takes points"),
    ("asset_streetlight", "<gml:Point><gml:coordinates>not numbers</gml:coordinates></gml:Point>", {},
     "unreadable GML geometry: coordinates 'not numbers' holds something other than numbers"),
    ("asset_streetlight", "<gml:Blob><gml:pos>1 2</gml:pos></gml:Blob>", {}, "unreadable GML geometry"),
    ("asset_streetlight", "<gml:Point></gml:Point>", {}, "unreadable GML geometry"),
    ("asset_streetlight", '<gml:Point srsName="EPSG:999999"><gml:coordinates>1,2</gml:coordinates></gml:Point>', {},
     "unknown coordinate reference system"),
    ("asset_streetlight", '<gml:Point srsName="{srs}"><gml:coordinates>{x},{y}</gml:coordinates></gml:Point>',
     {"condition": "150"}, "condition 150 is outside 0-100"),
    ("asset_streetlight", '<gml:Point srsName="{srs}"><gml:coordinates>{x},{y}</gml:coordinates></gml:Point>',
     {"status": "broken"}, "status 'broken' is not one of"),
    ("asset_streetlight", '<gml:Point srsName="{srs}"><gml:coordinates>{x},{y}</gml:coordinates></gml:Point>',
     {"wattage": "100"}, "has no editable property 'wattage'"),
    ("asset_streetlight", '<gml:Point srsName="{srs}"><gml:coordinates>{x},{y}</gml:coordinates></gml:Point>',
     {"install_date": "yesterday"}, "is not a date"),
    ("neighbourhood", '<gml:Point srsName="{srs}"><gml:coordinates>{x},{y}</gml:coordinates></gml:Point>', {},
     "feature type 'neighbourhood' cannot be edited"),
    ("utility_structure", '<gml:Point srsName="{srs}"><gml:coordinates>{x},{y}</gml:coordinates></gml:Point>',
     {"kind": "storm"}, "structure_type is required"),
    ("utility_structure", '<gml:Point srsName="{srs}"><gml:coordinates>{x},{y}</gml:coordinates></gml:Point>',
     {"kind": "storm", "structure_type": "manhole", "depth_m": "1e400"}, "is not a finite number"),
    ("utility_line", '<gml:LineString srsName="{srs}"><gml:coordinates>{x},{y} {x2},{y}</gml:coordinates>'
     "</gml:LineString>", {"kind": "water", "diameter_mm": "99999999999"}, "less than or equal to 2147483647"),
    ("asset_streetlight", '<gml:Point srsName="{srs}"><gml:coordinates>{x},{y}</gml:coordinates></gml:Point>',
     {"external_id": "x" * 121}, "at most 120 characters"),
])
def test_bad_features_get_an_exception_report_and_nothing_is_written(client, as_editor, feature, geometry, props,
                                                                    message):
    geometry = geometry.replace("{x}", str(X)).replace("{y}", str(Y)).replace("{x2}", str(X + 9))
    before = Asset.objects.count(), UtilityStructure.objects.count()
    response = post(client, gml_insert(feature, geometry=geometry, **props), as_editor)
    assert response.status_code == 400
    assert message in exception(response)[1]
    assert (Asset.objects.count(), UtilityStructure.objects.count()) == before
    assert not EditRecord.objects.exists()


def test_duplicate_external_id_and_read_only_fields_are_refused(client, as_editor):
    lamp = streetlight_at(X, Y, external_id="L-1")
    streetlight_at(X + 50, Y, external_id="L-2")
    response = post(client, gml_insert("asset_streetlight", geometry=point_gml(X, Y), external_id="L-1"), as_editor)
    assert "external_id 'L-1' is already taken" in exception(response)[1]
    for prop, value, message in [("external_id", "L-2", "already taken"), ("id", "99", "id is read-only"),
                                 ("status", "", "status cannot be empty")]:
        body = (f'<wfs:Transaction xmlns:wfs="{WFS1}" xmlns:ogc="{OGC}" service="WFS" version="1.0.0">'
                f'<wfs:Update typeName="fieldsvc:asset_streetlight"><wfs:Property><wfs:Name>{prop}</wfs:Name>'
                f'<wfs:Value>{value}</wfs:Value></wfs:Property><ogc:Filter><ogc:FeatureId fid="asset_streetlight.'
                f'{lamp.pk}"/></ogc:Filter></wfs:Update></wfs:Transaction>').encode()
        response = post(client, body, as_editor)
        assert response.status_code == 400 and message in exception(response)[1]
    lamp.refresh_from_db()
    assert (lamp.external_id, lamp.status) == ("L-1", "active")


def test_updates_and_deletes_of_unknown_features_or_by_other_filters_are_refused(client, as_editor):
    lamp = streetlight_at(X, Y)
    cases = [
        (f'<ogc:FeatureId fid="asset_streetlight.{lamp.pk + 1000}"/>', "no asset_streetlight feature with id"),
        (f'<ogc:FeatureId fid="asset_hydrant.{lamp.pk}"/>', "is not an id of a asset_streetlight feature"),
        ("<ogc:PropertyIsEqualTo><ogc:PropertyName>status</ogc:PropertyName><ogc:Literal>active</ogc:Literal>"
         "</ogc:PropertyIsEqualTo>", "only FeatureId/ResourceId filters are supported"),
    ]
    for filter_xml, message in cases:
        body = (f'<Transaction xmlns="{WFS1}" xmlns:ogc="{OGC}" service="WFS" version="1.0.0">'
                f'<Delete typeName="fieldsvc:asset_streetlight"><ogc:Filter>{filter_xml}</ogc:Filter></Delete>'
                "</Transaction>").encode()
        response = post(client, body, as_editor)
        assert response.status_code == 400 and message in exception(response)[1]
    assert Asset.objects.filter(pk=lamp.pk).exists()
    for broken, message in [(f'<Transaction xmlns="{WFS1}" version="1.0.0"><Insert>'.encode(), "not well-formed XML"),
                            (f'<Transaction xmlns="{WFS1}" version="1.0.0"/>'.encode(), "has no Insert"),
                            (f'<Transaction xmlns="{WFS1}" version="1.0.0"><Native vendorId="x" safeToIgnore="false"/>'
                             "</Transaction>".encode(), "Native is not supported")]:
        response = post(client, broken, as_editor)
        assert response.status_code == 400 and message in exception(response)[1]


def test_wfs_20_transaction_with_resource_ids_and_lat_lon_urn(client, as_editor):
    """A 2.0 transaction with a URN srsName reads EPSG:4326 as lat/lon; a 1.0 one (QGIS) always reads x/y."""
    lamp = streetlight_at(X, Y)
    body = f"""<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:fes="http://www.opengis.net/fes/2.0"
      xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:fieldsvc="http://fieldsvc.org/wfs" service="WFS" version="2.0.0">
      <wfs:Insert handle="new lamp"><fieldsvc:asset_streetlight><fieldsvc:external_id>L-9</fieldsvc:external_id>
        <fieldsvc:geom><gml:Point gml:id="p1" srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>42.3671 -71.1044</gml:pos>
        </gml:Point></fieldsvc:geom></fieldsvc:asset_streetlight></wfs:Insert>
      <wfs:Update typeName="fieldsvc:asset_streetlight"><wfs:Property><wfs:ValueReference>status</wfs:ValueReference>
        <wfs:Value>inactive</wfs:Value></wfs:Property>
        <fes:Filter><fes:ResourceId rid="asset_streetlight.{lamp.pk}"/></fes:Filter></wfs:Update>
    </wfs:Transaction>""".encode()
    response = post(client, body, as_editor)
    assert response.status_code == 200, response.content
    wfs2, fes = "http://www.opengis.net/wfs/2.0", "http://www.opengis.net/fes/2.0"
    root = xsd.assert_valid(response.content)
    summary = root.find(f"{{{wfs2}}}TransactionSummary")
    assert (summary.findtext(f"{{{wfs2}}}totalInserted"), summary.findtext(f"{{{wfs2}}}totalUpdated")) == ("1", "1")
    feature = root.find(f"{{{wfs2}}}InsertResults/{{{wfs2}}}Feature")
    assert feature.get("handle") == "new lamp"
    new = Asset.objects.get(external_id="L-9")
    assert feature.find(f"{{{fes}}}ResourceId").get("rid") == f"asset_streetlight.{new.pk}"
    assert new.geom.coords == pytest.approx(crs.storage_point(-71.1044, 42.3671), abs=0.01)
    assert Asset.objects.get(pk=lamp.pk).status == "inactive"
    # QGIS's 1.0.0 transaction with the URN from the 2.0 capabilities: coordinates are x/y (lon/lat).
    qgis = gml_insert("asset_streetlight", geometry=point_gml(-71.1045, 42.3672), srs="urn:ogc:def:crs:EPSG::4326",
                      external_id="L-10")
    assert post(client, qgis, as_editor).status_code == 200
    assert Asset.objects.get(external_id="L-10").geom.coords == pytest.approx(
        crs.storage_point(-71.1045, 42.3672), abs=0.01)


def test_utility_lines_are_editable_and_one_part_multilines_become_lines(client, as_editor):
    a, b = crs.storage_point(-71.1043, 42.3670), crs.storage_point(-71.1033, 42.3672)
    geometry = (f'<gml:MultiLineString srsName="EPSG:{crs.storage_srid()}"><gml:lineStringMember><gml:LineString>'
                f"<gml:coordinates>{a[0]},{a[1]} {b[0]},{b[1]}</gml:coordinates></gml:LineString>"
                "</gml:lineStringMember></gml:MultiLineString>")
    body = gml_insert("utility_line", geometry=geometry, kind="water", line_type="Main", diameter_mm="300",
                      depth_m="1.8", material="ductile iron", install_year="1950")
    response = post(client, body, as_editor)
    assert response.status_code == 200, response.content
    main = UtilityLine.objects.get(kind="water", diameter_mm=300, install_year=1950)
    assert (main.kind, main.line_type, main.diameter_mm, main.depth_m, main.install_year) == (
        "water", "main", 300, 1.8, 1950)
    assert main.external_id.startswith("wfs-") and main.geom.geom_type == "LineString"
    assert main.geom.length == pytest.approx(LineString(a, b).length)


def test_permissions_anonymous_staff_and_editor(client, registry, editor, as_editor):
    lamp = streetlight_at(X, Y)
    delete = qgis_body("delete", fid=lamp.pk)
    anonymous = post(client, delete, {})
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Basic")
    assert post(client, delete, basic("editor", "wrong")).status_code == 401
    User.objects.create_user("clerk", password="clerk-pass-1", is_staff=True)
    refused = post(client, delete, basic("clerk", "clerk-pass-1"))
    assert refused.status_code == 403 and "GIS editors" in exception(refused)[1]
    assert Asset.objects.filter(pk=lamp.pk).exists()
    # Transaction is offered only to those who may edit: QGIS turns editing on when it sees it.
    capabilities = "/wfs/?SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0"
    assert b'Operation name="Transaction"' not in client.get(capabilities).content
    assert b'Operation name="Transaction"' not in client.get(capabilities, **basic("clerk", "clerk-pass-1")).content
    assert b'Operation name="Transaction"' in client.get(capabilities, **as_editor).content
    # A browser session must carry a CSRF token; Basic-authenticated clients need none.
    browser = client.__class__(enforce_csrf_checks=True)
    browser.force_login(editor)
    refused = post(browser, delete, {})
    assert refused.status_code == 403 and "CSRF" in exception(refused)[1]
    assert post(client, delete, as_editor).status_code == 200


def test_an_edit_relinks_nearby_open_requests_and_drops_the_tiles_it_touches(
        client, as_editor, django_capture_on_commit_callbacks, monkeypatch):
    from fieldsvc import celery as celery_module
    from tiles import tasks

    services.catalogue_load(data={"services": [{
        "code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
        "asset_types": ["streetlight"], "snap_distance_m": 30}]})
    lon, lat = crs.wgs84_points(np.array([[X + 8, Y]]))[0]
    request, _ = request_create(service=cached.catalogue().by_code["streetlight-outage"], data=RequestInput(
        lat=float(lat), long=float(lon), description="dark", require_answers=False, check_duplicates=False))
    assert linking.request_link(request_id=request.pk) == "linked"
    assert RequestLink.objects.get(pk=request.pk).asset_id is None  # no lamp yet
    # The worker's part, in this process: the re-link task the registry change enqueues.
    monkeypatch.setattr(linking, "enqueue", lambda name, **kw: linking.requests_relink_near(**kw))
    dropped = []
    monkeypatch.setattr(celery_module.app, "send_task", lambda name, kwargs, **options: dropped.append(
        tasks.tiles_invalidate_task(**kwargs)) if name == "tiles.tasks.tiles_invalidate_task" else None)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, gml_insert("asset_streetlight", geometry=point_gml(X, Y), external_id="L-new"),
                        as_editor)
    assert response.status_code == 200, response.content
    new = Asset.objects.get(external_id="L-new")
    assert RequestLink.objects.get(pk=request.pk).asset_id == new.pk  # 8 m away: the request's lamp now
    assert dropped and dropped[0] > 0  # the asset tiles around it, at every zoom of the layer
