"""Vector tiles decoded as a map client does: features, properties (no personal data), clusters, caching,
and every bad address answered with a 4xx."""

import math

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import Point, Polygon
from django.db import connection

from gis import crs
from gis.models import Asset, AssetType, Department
from workorders import linking, services
from workorders.models import Crew, Service, ServiceRequest
from workorders.services import RequestInput, request_create

pytestmark = pytest.mark.django_db
LON, LAT = -71.1043, 42.3670  # Cambridge City Hall


@pytest.fixture(autouse=True)
def fresh_tile_cache():
    """Tiles live in the shared Redis cache: each test starts with none (its rows are new each time)."""
    from django.core.cache import cache

    cache.clear()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


@pytest.fixture
def city(registry):
    services.catalogue_load(data={"services": [{
        "code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
        "asset_types": ["streetlight"], "snap_distance_m": 30}]})
    x, y = crs.storage_point(LON, LAT)
    lamp_type = AssetType.objects.get(code="streetlight")
    for n in range(3):
        Asset.objects.create(asset_type=lamp_type, external_id=f"L-{n}",
                             geom=Point(x + 20 * n, y, srid=crs.storage_srid()))
    request, _ = request_create(service=Service.objects.get(code="streetlight-outage"), data=RequestInput(
        lat=LAT, long=LON, email="ana@example.org", first_name="Ana", description="dark", check_duplicates=False))
    linking.request_link(request_id=request.pk)
    Crew.objects.create(code="c1", name="C1", department=Department.objects.get(code="street-lighting"),
                        depot=Point(x, y, srid=crs.storage_srid()))
    return request


def get(client, layer: str, z: int, x: int, y: int):
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")


def test_assets_at_street_zoom_are_features_with_their_properties(client, city):
    answer = get(client, "assets", *tile_of(LON, LAT, 17))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(answer.content)["assets"]
    assert layer["extent"] == 4096
    props = sorted((f["properties"]["external_id"], f["properties"]["type"]) for f in layer["features"])
    assert props == [("L-0", "streetlight"), ("L-1", "streetlight"), ("L-2", "streetlight")]
    for feature in layer["features"]:
        x, y = feature["geometry"]["coordinates"]
        assert -64 <= x <= 4096 + 64 and -64 <= y <= 4096 + 64


def test_below_the_cluster_zoom_points_are_counted(client, city):
    layer = mapbox_vector_tile.decode(get(client, "assets", *tile_of(LON, LAT, 14)).content)["assets"]
    assert sum(f["properties"]["count"] for f in layer["features"]) == 3
    assert len(layer["features"]) < 3  # 20 m apart: one grid cell
    assert set(layer["features"][0]["properties"]) == {"count"}


def test_open_requests_carry_no_personal_data(client, city):
    layer = mapbox_vector_tile.decode(get(client, "requests", *tile_of(LON, LAT, 16)).content)["requests"]
    [feature] = layer["features"]
    # due_at (the SLA target) only when the service has one; this one has none.
    assert set(feature["properties"]) == {"id", "service", "status", "requested_at", "department"}
    assert "ana" not in str(layer).lower()


def test_empty_tiles_are_204_and_zooms_outside_a_layer_too(client, city):
    assert get(client, "assets", *tile_of(-70.0, 42.0, 16)).status_code == 204  # the sea
    assert get(client, "assets", *tile_of(LON, LAT, 10)).status_code == 204  # below its minimum zoom
    assert get(client, "neighbourhoods", 0, 0, 0).status_code == 204  # none loaded


def test_etag_and_cache_control(client, city):
    first = get(client, "assets", *tile_of(LON, LAT, 17))
    assert first["Cache-Control"] == "public, max-age=60"
    z, x, y = tile_of(LON, LAT, 17)
    again = client.get(f"/tiles/assets/{z}/{x}/{y}.mvt", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"]


def test_staff_layers_are_hidden_from_the_public(client, city, admin_user):
    address = tile_of(LON, LAT, 16)
    assert get(client, "crews", *address).status_code == 404
    assert "crews" not in get(client, "nothing", 0, 0, 0).json()["detail"]
    client.force_login(admin_user)
    answer = get(client, "crews", *address)
    assert answer.status_code == 200 and answer["Cache-Control"] == "private, max-age=30"
    [crew] = mapbox_vector_tile.decode(answer.content)["crews"]["features"]
    assert crew["properties"]["code"] == "c1"


def test_work_orders_and_crews_carry_what_the_console_filters_on(client, city, admin_user):
    import datetime as dt

    from workorders.models import WorkOrder

    x, y = crs.storage_point(LON, LAT)
    due = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    WorkOrder.objects.create(status="ready", department=city.department, service=city.service, title="lamp",
                             location=Point(x, y, srid=crs.storage_srid()), due_at=due, priority=2)
    client.force_login(admin_user)
    address = tile_of(LON, LAT, 16)
    [wo] = mapbox_vector_tile.decode(get(client, "work_orders", *address).content)["work_orders"]["features"]
    assert wo["properties"] | {"id": 0, "created_at": ""} == {
        "id": 0, "status": "ready", "priority": 2, "service": "streetlight-outage", "department": "street-lighting",
        "due_at": int(due.timestamp()), "assigned": False, "created_at": ""}
    assert len(wo["properties"]["created_at"]) == 10  # YYYY-MM-DD, compared as text by the map's date filter
    [crew] = mapbox_vector_tile.decode(get(client, "crews", *address).content)["crews"]["features"]
    assert crew["properties"]["department"] == "street-lighting"


@pytest.mark.parametrize(("path", "status"), [
    ("/tiles/assets/23/0/0.mvt", 400), ("/tiles/assets/-1/0/0.mvt", 400), ("/tiles/assets/3/8/0.mvt", 400),
    ("/tiles/assets/3/0/-1.mvt", 400), ("/tiles/nothing/3/0/0.mvt", 404), ("/tiles/assets/x/0/0.mvt", 404),
    ("/tiles/assets/99999999999/0/0.mvt", 404),
])
def test_bad_addresses_get_4xx_never_500(client, city, path, status):
    answer = client.get(path)
    assert answer.status_code == status
    if answer["Content-Type"] == "application/json":
        assert answer.json()["code"] in ("tile_out_of_range", "unknown_layer", "not_found")  # not_found: no route


def test_sql_in_the_address_reaches_no_query(client, city):
    """Layer names come only from the registry and z/x/y are integers: an attempt is a 404, and nothing
    it names is run."""
    for attempt in ["assets%27%3B%20DROP%20TABLE%20registry_asset%3B--", "assets%22%20OR%201%3D1",
                    "pg_sleep(5)", "assets;select"]:
        assert client.get(f"/tiles/{attempt}/1/0/0.mvt").status_code == 404
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM registry_asset")
        assert cursor.fetchone()[0] == 3
    assert ServiceRequest.objects.count() == 1


def test_tilejson_and_the_style_name_only_what_the_caller_may_see(client, city, admin_user):
    meta = client.get("/tiles/assets.json").json()
    assert meta["tilejson"] == "3.0.0" and meta["minzoom"] == 13
    assert meta["tiles"] == ["http://testserver/tiles/assets/{z}/{x}/{y}.mvt"]
    assert meta["vector_layers"][0]["fields"] == {"count": "Number", "id": "String", "type": "String",
                                                  "external_id": "String", "status": "String"}
    west, south, east, north = meta["bounds"]
    assert west < LON < east and south < LAT < north
    assert client.get("/tiles/crews.json").status_code == 404
    public = client.get("/tiles/style.json").json()
    assert public["version"] == 8 and set(public["sources"]) == {"neighbourhoods", "assets", "requests"}
    assert public["sources"]["assets"]["url"] == "http://testserver/tiles/assets.json"
    client.force_login(admin_user)
    staff = client.get("/tiles/style.json").json()
    assert {"crews", "work_orders", "utility_lines"} <= set(staff["sources"])
    assert [layer["id"] for layer in staff["layers"]][:2] == ["background", "neighbourhoods"]


def test_tiles_are_cached_and_a_moved_asset_drops_exactly_the_tiles_it_touches(
        client, city, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch):
    from fieldsvc import celery as celery_module
    from tiles import cache as tile_cache
    from tiles import tasks

    here = tile_of(LON, LAT, 17)
    elsewhere = tile_of(-71.0589, 42.3601, 17)  # Boston City Hall, 4 km away
    first = get(client, "assets", *here).content
    assert get(client, "assets", *elsewhere).status_code == 204
    with django_assert_num_queries(0):  # both served from the cache
        assert get(client, "assets", *here).content == first
        assert get(client, "assets", *elsewhere).status_code == 204
    ran = []
    monkeypatch.setattr(celery_module.app, "send_task", lambda name, kwargs, **options: ran.append(
        tasks.tiles_invalidate_task(**kwargs)) if name == "tiles.tasks.tiles_invalidate_task" else None)
    lamp = Asset.objects.get(external_id="L-0")
    with django_capture_on_commit_callbacks(execute=True):
        lamp.geom = Point(lamp.geom.x + 5, lamp.geom.y, srid=crs.storage_srid())
        lamp.save()
    assert ran and ran[0] > 0  # the tiles around the old and new place, at every zoom of the layer
    moved = get(client, "assets", *here).content
    assert moved != first  # recomputed: the lamp is 5 m east
    with django_assert_num_queries(0):
        assert get(client, "assets", *elsewhere).status_code == 204  # untouched, still cached
    # A change over the whole registry retires the layer's tiles at once instead of listing them.
    (x0, y0), (x1, y1) = crs.storage_point(-73.5, 41.2), crs.storage_point(-69.9, 42.9)
    whole = bytes(Polygon.from_bbox((x0, y0, x1, y1)).wkb)
    assert tile_cache.invalidate(["assets"], [whole]) == 0
    with django_assert_num_queries(1):
        get(client, "assets", *here)  # a new generation: built again


def test_a_work_order_change_drops_its_staff_tiles(client, city, admin_user, django_capture_on_commit_callbacks,
                                                   monkeypatch):
    from fieldsvc import celery as celery_module
    from tiles import signals, tasks
    from workorders.models import WorkOrder

    x, y = crs.storage_point(LON, LAT)
    wo = WorkOrder.objects.create(status="ready", department=city.department, service=city.service, title="lamp",
                                  location=Point(x, y, srid=crs.storage_srid()))
    client.force_login(admin_user)
    address = tile_of(LON, LAT, 16)
    before = mapbox_vector_tile.decode(get(client, "work_orders", *address).content)["work_orders"]["features"]
    assert [f["properties"]["status"] for f in before] == ["ready"]
    sent = []
    monkeypatch.setattr(celery_module.app, "send_task", lambda name, kwargs, **options: sent.append(
        tasks.tiles_invalidate_task(**kwargs)) if name == "tiles.tasks.tiles_invalidate_task" else None)
    with django_capture_on_commit_callbacks(execute=True):
        wo.status = "dispatched"
        wo.save()  # a save announces the change (transitions save)
    signals._held.flush()  # the coalescer's window, now
    assert sent and sent[0] > 0
    after = mapbox_vector_tile.decode(get(client, "work_orders", *address).content)["work_orders"]["features"]
    assert [f["properties"]["status"] for f in after] == ["dispatched"]
