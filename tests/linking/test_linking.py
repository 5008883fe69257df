"""Linking real reports against the real demo registry: known points, routing, named assets, batches, re-links.

The expected matches were computed independently of fieldsvc's queries, with plain ST_Distance over every
row of the loaded layers (no index, no KNN), on the demo database:

    SELECT a.external_id, ST_Distance(a.geom, ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 26986))
      FROM registry_asset a JOIN registry_assettype t ON t.id = a.asset_type_id
     WHERE t.code = ANY(types) ORDER BY 2 LIMIT 3;   -- and likewise over registry_utilityline

and are checked again the same way by ``test_expected_matches_hold_by_plain_st_distance``.
"""

import io

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.db import connection

from gis import crs
from gis import services as gis_services
from gis.importing.mapping import load_mapping
from gis.importing.pipeline import import_file
from gis.models import Asset
from gis.services import registry_seed
from tests.conftest import FIXTURES
from workorders import cached, linking, services
from workorders.models import AssetOutcome, LinkState, RequestLink, RequestNote, ServiceRequest
from workorders.services import RequestInput, request_create

# A resident 3-4 m from Cambridge streetlight cambridge-386-89 (next lamp: cambridge-386-86, 40.53 m).
LAMP_POINT, LAMP, LAMP_DISTANCE_M = (-71.1431224, 42.3804127), "cambridge-386-89", 3.6065
# 4 m from Cambridge hydrant cambridge-4056 (next: cambridge-4055, 65.06 m); no road segment loaded nearby.
HYDRANT_POINT, HYDRANT, HYDRANT_DISTANCE_M = (-71.1352457, 42.4016330), "cambridge-4056", 4.1205
# Over Somerville storm main somerville-129 (brick, 24 in = 609.6 mm): 0.428 m from it, 16.69 m along it;
# the only utility within 10 m. The nearest Boston road segment is 2.5 km away.
MAIN_POINT, MAIN, MAIN_DISTANCE_M, MAIN_ALONG_M = (-71.1230405, 42.3964860), "somerville-129", 0.4280, 16.6899

LAYERS = [("boston/neighborhoods.geojson", "boston_neighborhoods.yaml"),
          ("cambridge/INFRA_StreetLights.geojson", "cambridge_streetlights.yaml"),
          ("cambridge/INFRA_Hydrants.geojson", "cambridge_hydrants.yaml"),
          ("somerville/city_storm_mains.geojson", "somerville_storm_mains.yaml"),
          ("somerville/city_manholes.geojson", "somerville_manholes.yaml"),
          ("somerville/city_catch_basins.geojson", "somerville_catch_basins.yaml")]


@pytest.fixture(scope="module")
def demo_registry(django_db_setup, django_db_blocker):
    """The demo departments, asset types, catalogue, routing rules and five real layers, committed once for
    this module (each test still rolls its own requests back) and removed afterwards."""
    with django_db_blocker.unblock():
        seed = yaml.safe_load((FIXTURES / "registry.yaml").read_text())
        registry_seed(departments=seed["departments"], asset_types=seed["asset_types"])
        for path, mapping in LAYERS:
            import_file(path=FIXTURES / path, mapping=load_mapping(FIXTURES / "mappings" / mapping))
        # The rules name neighbourhoods; crews and calendars are not linking's (and would outlive the module).
        call_command("load_catalogue", field="", stdout=open("/dev/null", "w"))
        cached.forget()
    yield
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE registry_asset, registry_utilityline, registry_utilitystructure, "
                           "workorders_routingrule, workorders_service, workorders_servicegroup, "
                           "workorders_servicerequest, registry_importrun, registry_district CASCADE")
        cached.forget()


pytestmark = pytest.mark.usefixtures("demo_registry")


def report(service_code: str, point: tuple[float, float] | None, description: str = "", **extra) -> ServiceRequest:
    """Intake as Open311 does it, then the linking task's work, in this process."""
    service = cached.catalogue().by_code[service_code]
    lon, lat = point if point else (None, None)
    request, _ = request_create(service=service, data=RequestInput(
        lat=lat, long=lon, description=description, require_answers=False, check_duplicates=False,
        address_string="" if point else "1 City Hall Sq", **extra))
    assert RequestLink.objects.get(pk=request.pk).state == LinkState.PENDING  # recorded with the request
    assert linking.request_link(request_id=request.pk) == "linked"
    return ServiceRequest.objects.select_related("link__asset", "department", "service").get(pk=request.pk)


def test_expected_matches_hold_by_plain_st_distance(db):
    def nearest(point, types):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.external_id, ST_Distance(a.geom, ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
                "26986)) FROM registry_asset a JOIN registry_assettype t ON t.id = a.asset_type_id "
                "WHERE t.code = ANY(%s) ORDER BY 2 LIMIT 1", [*point, types])
            return cursor.fetchone()

    external_id, distance = nearest(LAMP_POINT, ["streetlight"])
    assert (external_id, round(distance, 4)) == (LAMP, LAMP_DISTANCE_M)
    external_id, distance = nearest(HYDRANT_POINT, ["road-segment", "hydrant"])
    assert (external_id, round(distance, 4)) == (HYDRANT, HYDRANT_DISTANCE_M)


def test_streetlight_outage_links_the_lamp(db):
    request = report("streetlight-outage", LAMP_POINT, "The light has been out for a week")
    link = request.link
    assert (link.asset.external_id, link.asset_outcome, link.search_radius_m) == (LAMP, AssetOutcome.MATCHED, 30)
    assert link.asset_distance_m == pytest.approx(LAMP_DISTANCE_M, abs=1e-3)
    assert link.linked_at is not None and link.department.code == "street-lighting"
    assert link.explanation == (
        "Routed to Street Lighting, the department for Street Light Outage reports; no routing rule applied. "
        f"Linked to streetlight {LAMP}, 3.6 m from the report.")


def test_sinking_pavement_links_the_hydrant(db):
    request = report("sinking-pavement", HYDRANT_POINT)
    assert request.link.asset.external_id == HYDRANT
    assert request.link.asset_distance_m == pytest.approx(HYDRANT_DISTANCE_M, abs=1e-3)


def test_no_asset_within_the_snap_distance_is_recorded(db):
    request = report("pothole", MAIN_POINT, "deep pothole")
    assert (request.link.asset, request.link.asset_outcome, request.link.search_radius_m) == (
        None, AssetOutcome.NONE_WITHIN, 20)
    assert "No asset within 20 m of the report." in request.link.explanation


def test_a_sinking_pothole_over_a_storm_main_goes_to_water_and_sewer(db):
    request = report("pothole", MAIN_POINT, "The road is sinking around a pothole")
    link = request.link
    [main] = link.utilities
    assert (main["external_id"], main["kind"], main["type"], main["feature"]) == (MAIN, "storm", "main", "line")
    assert main["distance_m"] == pytest.approx(MAIN_DISTANCE_M, abs=1e-3)
    assert main["along_m"] == pytest.approx(MAIN_ALONG_M, abs=1e-2)  # where to dig: 16.7 m from its start
    assert (main["material"], main["diameter_mm"]) == ("Brick", 610)
    assert (request.department.code, request.service.code, link.reclassified_from.code, link.priority) == (
        "water-sewer", "sinking-pavement", "pothole", 2)
    assert link.explanation == (
        "Routed to Water and Sewer by rule 'Sinking road over a water, sewer or storm main': storm main "
        f"{MAIN} (brick, 610 mm) lies 0.4 m from the report and the description mentions 'sinking'. "
        "Reclassified from Pothole to Sinking Pavement or Sinkhole. Priority raised from 3 to 2. "
        "No asset within 20 m of the report.")
    note = RequestNote.objects.get(request=request, author="routing")
    assert note.description == link.explanation  # the history says why it moved


def test_the_same_pothole_without_the_words_stays_with_streets(db):
    request = report("pothole", MAIN_POINT, "A pothole in the right lane")
    assert (request.department.code, request.service.code, request.link.rule) == ("public-works", "pothole", None)
    assert request.link.explanation.endswith("Beneath: storm main somerville-129 (brick, 610 mm), 0.4 m away.")


def test_relinking_is_idempotent_and_starts_from_what_was_reported(db):
    request = report("pothole", MAIN_POINT, "sinking road")
    first = RequestLink.objects.get(pk=request.pk)
    assert linking.request_link(request_id=request.pk) == "already linked"
    assert linking.request_link(request_id=request.pk, force=True) == "linked"
    again = RequestLink.objects.get(pk=request.pk)
    assert (again.reclassified_from_id, again.department_id, again.explanation, again.utilities) == (
        first.reclassified_from_id, first.department_id, first.explanation, first.utilities)
    assert ServiceRequest.objects.get(pk=request.pk).service.code == "sinking-pavement"
    assert RequestNote.objects.filter(request=request, author="routing").count() == 1  # moved once


def _lamp_far_away() -> str:
    x, y = crs.storage_point(*LAMP_POINT)
    with connection.cursor() as cursor:
        cursor.execute("SELECT a.external_id FROM registry_asset a JOIN registry_assettype t ON t.id = a.asset_type_id "
                       "WHERE t.code = 'streetlight' AND ST_Distance(a.geom, ST_SetSRID(ST_MakePoint(%s, %s), 26986)) "
                       "> 500 ORDER BY a.external_id LIMIT 1", [x, y])
        return cursor.fetchone()[0]


def test_named_asset_near_wins(db):
    near = "cambridge-386-86"  # 40.5 m away: beyond the 30 m snap, within the 50 m a named asset may be
    request = report("streetlight-outage", LAMP_POINT, attributes={"asset_id": [near]})
    assert (request.link.asset.external_id, request.link.asset_outcome, request.link.asset_claim) == (
        near, AssetOutcome.NAMED, near)
    assert "(the asset the reporter named)" in request.link.explanation


def test_named_asset_far_is_flagged_and_the_nearest_used(db):
    far = _lamp_far_away()
    request = report("streetlight-outage", LAMP_POINT, asset_claim=far)  # CitySDK service_object_id
    assert (request.link.asset.external_id, request.link.asset_outcome, request.link.flagged) == (
        LAMP, AssetOutcome.NAMED_FAR, True)
    assert f"flagged: the named asset '{far}' lies" in request.link.explanation


def test_named_asset_unknown_is_flagged(db):
    request = report("streetlight-outage", LAMP_POINT, attributes={"asset_id": ["no-such-lamp"]})
    assert (request.link.asset.external_id, request.link.asset_outcome) == (LAMP, AssetOutcome.NAMED_UNKNOWN)
    assert "flagged: the named asset 'no-such-lamp' is unknown; nearest" in request.link.explanation


def test_report_without_a_location_is_routed_by_its_words(db):
    request = report("pothole", None, "water bubbling up from the street")
    assert (request.link.asset_outcome, request.department.code, request.link.priority) == (
        AssetOutcome.NOT_APPLICABLE, "water-sewer", 1)


def test_batch_in_memory_and_per_report_queries_agree(db, settings):
    points = [LAMP_POINT, HYDRANT_POINT, MAIN_POINT, (-71.1190, 42.3950), (-71.1100, 42.3730)]
    requests = [report(code, point, text) for point in points for code, text in (
        ("streetlight-outage", ""), ("sinking-pavement", "sinking"), ("pothole", "sinking road"),
        ("pothole", "pothole at the catch basin"), ("park-light-outage", ""), ("traffic-signal-inspection", ""))]
    requests.append(report("streetlight-outage", LAMP_POINT, asset_claim="no-such-lamp"))
    ids = [r.pk for r in requests]
    one_by_one = {link.pk: link for link in RequestLink.objects.filter(pk__in=ids)}
    settings.FIELDSVC_LINK_MEMORY_MIN_BATCH = 1  # force the STRtree path
    assert linking.requests_link_batch(request_ids=ids, force=True) == len(ids)
    for link in RequestLink.objects.filter(pk__in=ids):
        before = one_by_one[link.pk]
        assert (link.asset_id, link.asset_outcome, link.department_id, link.rule_id, link.priority,
                link.explanation) == (before.asset_id, before.asset_outcome, before.department_id, before.rule_id,
                                      before.priority, before.explanation)
        assert [u["id"] for u in link.utilities] == [u["id"] for u in before.utilities]
        for new, old in zip(link.utilities, before.utilities, strict=True):
            assert new["distance_m"] == pytest.approx(old["distance_m"], abs=1e-6)
            assert (new["along_m"] or 0) == pytest.approx(old["along_m"] or 0, abs=1e-6)


def test_the_plain_shortcut_decides_as_the_general_path_does(db):
    """_decide takes a shortcut when no rule can apply (the routing Screen); it must give what the full
    policies give, for reports that take it and for those that must not."""
    cases = [("streetlight-outage", LAMP_POINT, "dark since monday"),
             ("streetlight-outage", LAMP_POINT, "exposed wires"),
             ("pothole", (-71.1100, 42.3730), "deep pothole"), ("pothole", (-71.1100, 42.3730), "the road is sinking"),
             ("pothole", MAIN_POINT, "deep pothole"), ("sinking-pavement", HYDRANT_POINT, ""),
             ("park-light-outage", (-71.1190, 42.3950), ""), ("streetlight-outage", None, "wires down")]
    ids = [report(code, point, text).pk for code, point, text in cases]
    ctx, shortcuts = linking._Context(), 0
    for found, _ in linking._reports(ids):
        plan = ctx.plan(found.service_id)
        rows = linking.spatial.link_candidates(x=found.x, y=found.y, type_ids=plan.type_ids,
                                               radius_m=plan.radius_m, utility_radius_m=ctx.utility_radius_m)
        candidates, claimed, hits = linking._candidates_from_rows(rows)
        quick = linking._decide(ctx, found, candidates, claimed, hits)
        full = linking._decide_general(ctx, plan, found, candidates, claimed, hits)
        assert (quick.match, quick.decision, quick.utilities) == (full.match, full.decision, full.utilities)
        plain = (not hits and len(candidates) < 2
                 and linking._no_rule_applies(ctx, plan, found, candidates[0].type_code if candidates else None))
        if plain:  # the batch's form of the shortcut: the stage row straight from the tree's answer
            near = (candidates[0].asset_id, 0, candidates[0].distance_m) if candidates else None
            label = (candidates[0].type_code, candidates[0].external_id) if candidates else None
            assert linking._plain_row(ctx, plan, found, near, label) == linking._stage_row(full)
        shortcuts += plain
    assert 0 < shortcuts < len(cases)  # both kinds were exercised


def test_relink_command_links_pending_requests(db, settings):
    service = cached.catalogue().by_code["streetlight-outage"]
    request, _ = request_create(service=service, data=RequestInput(lat=LAMP_POINT[1], long=LAMP_POINT[0],
                                                                   require_answers=False))
    out = io.StringIO()
    call_command("relink", "--no-progress", stdout=out)
    assert out.getvalue() == "linked 1 request(s)\n"
    assert RequestLink.objects.get(pk=request.pk).asset.external_id == LAMP
    call_command("relink", "--all", "--open", "--service", "streetlight-outage", "--no-progress", stdout=out)
    assert out.getvalue().endswith("linked 1 request(s)\n")
    with pytest.raises(CommandError, match="--since must be a date"):
        call_command("relink", "--since", "yesterday")


def test_moving_the_lamp_relinks_open_requests_near_it(db, django_capture_on_commit_callbacks, monkeypatch):
    request = report("streetlight-outage", LAMP_POINT)
    ran = []
    # The worker's part, in this process: the task the registry change enqueues.
    monkeypatch.setattr(linking, "enqueue", lambda name, **kw: ran.append(linking.requests_relink_near(**kw)))
    lamp = Asset.objects.get(external_id=LAMP)
    lamp.geom = lamp.geom.clone()
    lamp.geom.x += 200  # moved 200 m east: no longer this report's lamp
    with django_capture_on_commit_callbacks(execute=True):
        lamp.save()
    assert ran and ran[0] >= 1
    link = RequestLink.objects.get(pk=request.pk)
    assert (link.asset, link.asset_outcome) == (None, AssetOutcome.NONE_WITHIN)  # next lamp is 40.5 m away
    with django_capture_on_commit_callbacks(execute=True):
        lamp.geom.x -= 199  # back, 1 m from where it was
        lamp.save()
    assert RequestLink.objects.get(pk=request.pk).asset_id == lamp.pk


def test_open311_extensions_show_asset_utilities_and_routing(db, client):
    request = report("pothole", MAIN_POINT, "sinking road")
    lamp = report("streetlight-outage", LAMP_POINT)
    body = client.get(f"/open311/v2/requests/{request.pk}.json?extensions=true").json()[0]
    extended = body["extended_attributes"]
    assert body["agency_responsible"] == "Water and Sewer" and body["service_code"] == "sinking-pavement"
    assert extended["utilities"][0]["id"] == MAIN and extended["utilities"][0]["along_m"] == pytest.approx(16.69)
    assert extended["routing"]["reclassified_from"] == "pothole"
    assert extended["routing"]["explanation"].startswith("Routed to Water and Sewer by rule")
    assert (extended["service_object_id"], extended["asset_match"]) == (None, "none_within")
    lamp_body = client.get(f"/open311/v2/requests/{lamp.pk}.json?extensions=true").json()[0]["extended_attributes"]
    assert (lamp_body["service_object_id"], lamp_body["service_object_type"], lamp_body["asset_ids"]) == (
        LAMP, "streetlight", [LAMP])
    xml = client.get(f"/open311/v2/requests/{request.pk}.xml?extensions=true").content.decode()
    assert f"<utility><id>{MAIN}</id>" in xml and "<explanation>Routed to Water and Sewer" in xml


def test_routing_rules_load_rejects_unknown_codes(db):
    with pytest.raises(ValueError, match="unknown department 'nope'"):
        services.routing_rules_load(data={"routing_rules": [
            {"order": 1, "name": "bad", "services": ["pothole"], "department": "nope"}]})


def test_open311_post_names_the_asset_with_service_object_id(db, client):
    _, key = services.api_key_create(name="CitySDK app")
    response = client.post("/open311/v2/requests.json", {
        "api_key": key, "service_code": "streetlight-outage", "lat": LAMP_POINT[1], "long": LAMP_POINT[0],
        "service_object_id": "cambridge-386-86", "attribute[LIGHTSTATE]": "out"})
    assert response.status_code == 201, response.content
    request_id = int(response.json()[0]["service_request_id"])
    assert RequestLink.objects.get(pk=request_id).asset_claim == "cambridge-386-86"
    linking.request_link(request_id=request_id)
    link = RequestLink.objects.get(pk=request_id)
    assert (link.asset.external_id, link.asset_outcome) == ("cambridge-386-86", AssetOutcome.NAMED)


def test_an_import_adding_a_lamp_relinks_open_requests_near_it(db, geojson_file, django_capture_on_commit_callbacks,
                                                               monkeypatch):
    request = report("streetlight-outage", (-71.1190, 42.3950))  # no streetlight within 30 m
    assert request.link.asset_outcome == AssetOutcome.NONE_WITHIN
    monkeypatch.setattr(linking, "enqueue", lambda name, **kw: linking.requests_relink_near(**kw))
    lamp = {"type": "Point", "coordinates": [-71.11902, 42.39502]}  # ~3 m away
    fields = {"PoleID": "NEW-1", "Description": "", "FixtureType": "LED", "NumLamps": 1, "LEDchk": "Y",
              "StreetName": "Elm", "StreetSuffix": "St", "Owner": "City"}
    path = geojson_file([(fields, lamp)])
    mapping = load_mapping(FIXTURES / "mappings" / "cambridge_streetlights.yaml")
    run = gis_services.import_run_create(path=path, mapping=mapping)
    with django_capture_on_commit_callbacks(execute=True):
        gis_services.import_run_execute(import_run=run)
    link = RequestLink.objects.select_related("asset").get(pk=request.pk)
    assert (link.asset_outcome, link.asset.external_id) == (AssetOutcome.MATCHED, "cambridge-NEW-1")
    assert link.asset_distance_m < 5

