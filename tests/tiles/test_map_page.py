"""The map page in Debian's headless Chromium: MapLibre, served from our static files, draws the tiles'
features with no request leaving the server; staff see their layers, the public does not."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon

from gis import crs
from gis.models import Asset, AssetType, District, UtilityLine
from tests.geo import CAMBRIDGE_CITY_HALL_WGS84
from workorders import services
from workorders.models import Crew, Service, WorkOrder

pytestmark = pytest.mark.django_db(transaction=True)  # the browser reads through the live server's threads
LON, LAT = CAMBRIDGE_CITY_HALL_WGS84
ROOT = Path(settings.BASE_DIR)
CHECK = Path(__file__).with_name("map_check.mjs")
ARTIFACTS = ROOT / ".stack" / "artifacts"  # git-ignored: the screenshots, for a person to look at
STAFF_LAYERS = {"utility_lines", "utility_structures", "work_orders", "crews"}
# Assets are single points from tile zoom 16 (counted below). MapLibre draws 512-pixel tiles: at its zoom 16
# it asks for z16 tiles and shows ~0.9 m a pixel, so the 600 m neighbourhood fits the 1024x768 view.
ZOOM = 16
HALF_SIDE_M = 300


@pytest.fixture(autouse=True)
def fresh_tile_cache():
    """Tiles live in the shared Redis cache: each test starts with none (its rows are new each time)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def mapped_city(registry) -> tuple[float, float]:
    """A 600 m square neighbourhood around Cambridge City Hall with five street lights in a row from it, and for
    staff a water main, a work order and a crew. Returns a point on the neighbourhood's west edge (lon, lat)."""
    srid = crs.storage_srid()
    x, y = crs.storage_point(LON, LAT)
    side = HALF_SIDE_M
    District.objects.create(
        external_id="n1",
        name="City Hall <b>square</b>",
        geom=MultiPolygon(Polygon.from_bbox((x - side, y - side, x + side, y + side)), srid=srid),
    )
    lamp = AssetType.objects.get(code="streetlight")
    for n in range(5):
        Asset.objects.create(asset_type=lamp, external_id=f"L-{n}", geom=Point(x + 40 * n, y, srid=srid))
    UtilityLine.objects.create(
        kind="water", external_id="w1", geom=LineString((x - 250, y - 80), (x + 250, y - 80), srid=srid)
    )
    services.catalogue_load(
        data={
            "services": [
                {
                    "code": "streetlight-outage",
                    "name": "Street Light Outage",
                    "department": "street-lighting",
                    "asset_types": ["streetlight"],
                }
            ]
        }
    )
    service = Service.objects.get(code="streetlight-outage")
    WorkOrder.objects.create(
        status="ready",
        department=service.department,
        service=service,
        title="lamp out",
        location=Point(x + 150, y + 120, srid=srid),
    )
    Crew.objects.create(
        code="c1", name="C1", department=service.department, last_position=Point(x - 200, y + 150, srid=srid)
    )
    [(edge_lon, edge_lat)] = crs.wgs84_points(np.array([[x - side, y + 100]]))
    return float(edge_lon), float(edge_lat)


def open_map(live_server, tmp_path: Path, name: str, *, at_city_hall: bool = True, **spec) -> dict:
    """map_check.mjs on /map/ (at City Hall, or as it opens); the screenshot kept in tmp_path and in
    .stack/artifacts/."""
    assert (ROOT / "node_modules" / "puppeteer-core").is_dir(), "run scripts/stack.sh install (npm ci)"
    assert (ROOT / "fieldsvc/static/fieldsvc/vendor/maplibre-gl/maplibre-gl.mjs").is_file(), (
        "run scripts/stack.sh install (it copies MapLibre into the static files)"
    )
    url = f"{live_server.url}/map/" + (f"#{ZOOM}/{LAT}/{LON}" if at_city_hall else "")
    spec |= {"url": url, "screenshot": str(tmp_path / name)}
    done = subprocess.run(["node", str(CHECK), json.dumps(spec)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert "failure" not in result, result["failure"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / name, ARTIFACTS / name)
    return result


def assert_served_by_us_alone(result: dict, live_server) -> None:
    """Every request went to the test server (Chromium ran as if offline), MapLibre among them, and nothing
    failed: no map error, no failed request, no 4xx/5xx, no script error."""
    assert [url for url in result["requests"] if not url.startswith(live_server.url + "/")] == []
    assert f"{live_server.url}/static/fieldsvc/vendor/maplibre-gl/maplibre-gl.mjs" in result["requests"]
    assert any(url.endswith(".mvt") for url in result["requests"])
    assert result["errors"] == [] and result["pageErrors"] == []


def test_the_map_draws_assets_and_neighbourhoods_from_our_own_server(live_server, client, mapped_city, tmp_path):
    style = client.get("/tiles/style.json").json()["layers"]
    background = style[0]["paint"]["background-color"]
    colours = {
        layer["id"]: layer["paint"].get("circle-color") or layer["paint"].get("line-color") for layer in style[1:]
    }
    result = open_map(
        live_server,
        tmp_path,
        "map.png",
        colours=colours,
        background=background,
        clicks=[list(mapped_city), [LON, LAT]],
        popupScreenshot=str(tmp_path / "map-popup.png"),
    )
    shutil.copy(tmp_path / "map-popup.png", ARTIFACTS / "map-popup.png")
    assert_served_by_us_alone(result, live_server)
    assert result["layers"] == ["background", "neighbourhoods", "assets", "requests"]
    assert result["legend"] == ["neighbourhoods", "assets", "requests"]
    assert result["rendered"]["assets"] == 5 and result["rendered"]["neighbourhoods"] >= 1
    # The screenshot shows them (legend and controls left out): the assets' orange dots, the outline's grey.
    near = result["pixels"]["near"]
    assert near["assets"] >= 5 * 12  # five dots of radius 3
    assert near["neighbourhoods"] >= 1500  # the square's outline: 4 sides of ~680 pixels, less the legend's
    assert result["pixels"]["background"] > result["pixels"]["map"] * 0.9  # and nothing else painted over
    # A click lists the feature's properties, as text: the neighbourhood's name is shown, not run as markup.
    edge, lamp = result["popups"]
    assert "external_id\tL-0" in lamp and "type\tstreetlight" in lamp
    assert "Neighbourhoods" in edge and "name\tCity Hall <b>square</b>" in edge


def test_staff_layers_appear_only_for_staff(live_server, client, admin_user, mapped_city, tmp_path):
    public = open_map(live_server, tmp_path, "map-public.png", at_city_hall=False)
    assert not STAFF_LAYERS & set(public["layers"]) and not STAFF_LAYERS & set(public["legend"])
    # Opened without a place, it shows the storage CRS's area, then the neighbourhoods (here the one square).
    (west, south), (east, north) = public["view"]["bounds"]
    assert west < LON < east and south < LAT < north and public["view"]["zoom"] > 14
    client.force_login(admin_user)
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}
    staff = open_map(live_server, tmp_path, "map-staff.png", cookies=[cookie])
    assert_served_by_us_alone(staff, live_server)
    assert STAFF_LAYERS <= set(staff["legend"])
    rendered = staff["rendered"]
    assert rendered["crews"] == 1 and rendered["work_orders"] == 1 and rendered["utility_lines"] >= 1
    assert rendered["assets"] == 5
