"""Cell counts kept by triggers (tiles/summary.py) for low-zoom tiles: intake, closing, moving and deleting
change the counts at once, folding changes nothing a tile shows, and the counts match the rows."""

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from gis import crs
from tests.tiles.test_tiles import LAT, LON, tile_of
from tiles import summary
from tiles.layers import LAYERS
from tiles.models import ClusterCell, ClusterChange
from workorders import services
from workorders.models import Service, ServiceRequest
from workorders.services import RequestInput, request_create, request_status_change

pytestmark = pytest.mark.django_db
# Cambridge City Hall and, 4 km away, Boston City Hall: one z10 tile, two of its grid cells (611 m each).
BOSTON = (-71.0589, 42.3601)


@pytest.fixture
def service(registry):
    services.catalogue_load(data={"services": [{
        "code": "pothole", "name": "Pothole", "department": "public-works", "snap_distance_m": 30}]})
    return Service.objects.get(code="pothole")


def report(service: Service, lon: float, lat: float) -> ServiceRequest:
    request, _ = request_create(service=service, data=RequestInput(lat=lat, long=lon, description="hole",
                                                                   check_duplicates=False))
    return request


def counts(z: int, lon: float = LON, lat: float = LAT) -> list[int]:
    """The counts the requests tile at zoom z over (lon, lat) shows, largest first."""
    from tiles import sql

    data = sql.tile(LAYERS["requests"], *tile_of(lon, lat, z))
    features = mapbox_vector_tile.decode(data)["requests"]["features"] if data else []
    return sorted((f["properties"]["count"] for f in features), reverse=True)


def test_the_layers_with_low_zoom_counts_are_the_clustered_point_layers_seen_below_z13():
    assert sorted(n for n, layer in LAYERS.items() if summary.summarised(layer)) == ["requests", "work_orders"]


def test_reports_closing_moving_and_deleting_change_the_counts_at_once(service):
    here = [report(service, LON, LAT) for _ in range(3)]
    report(service, *BOSTON)
    assert counts(10) == [3, 1] and counts(0) == [4]
    request_status_change(request=here[0], detailed_status="closed", description="filled")
    assert counts(10) == [2, 1]
    ServiceRequest.objects.filter(pk=here[1].pk).update(geom=Point(*crs.storage_point(*BOSTON),
                                                                   srid=crs.storage_srid()))
    assert counts(10) == [2, 1]  # one moved to Boston: 1 here, 2 there
    ServiceRequest.objects.filter(pk=here[2].pk).delete()
    assert counts(10) == [2] and counts(12) == []  # Boston's two; none left here
    # An update that moves nothing writes nothing.
    before = ClusterChange.objects.count()
    ServiceRequest.objects.filter(pk=here[0].pk).update(description="deep hole")
    assert ClusterChange.objects.count() == before


def test_folding_moves_changes_into_cells_and_no_tile_changes(service):
    for n in range(5):
        report(service, LON + n * 0.01, LAT)
    shown = {z: counts(z) for z in (0, 8, 10, 12)}
    assert summary.fold() > 0
    assert not ClusterChange.objects.exists() and ClusterCell.objects.filter(layer="requests").exists()
    assert {z: counts(z) for z in (0, 8, 10, 12)} == shown
    assert summary.fold() == 0


def test_the_cells_agree_with_the_rows_at_every_level(service):
    for n in range(20):
        report(service, LON + (n % 5) * 0.003, LAT + (n // 5) * 0.002)
    summary.fold()
    for level in summary.LEVELS:
        c = summary.cell_m(level)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT floor((ST_X(m) + {summary.HALF_WORLD}) / {c})::int, "
                f"floor(({summary.HALF_WORLD} - ST_Y(m)) / {c})::int, count(*) FROM workorders_servicerequest "
                f"CROSS JOIN LATERAL ST_Transform(geom, 3857) m WHERE status = 'open' GROUP BY 1, 2")
            expected = {(cx, cy): n for cx, cy, n in cursor.fetchall()}
        stored = {(c.cx, c.cy): c.n for c in ClusterCell.objects.filter(layer="requests", zoom=level)}
        assert stored == expected


def test_a_changed_definition_is_installed_again_and_counted_from_the_rows(service):
    report(service, LON, LAT)
    assert summary.install() == []  # unchanged since migrate
    with connection.cursor() as cursor:
        cursor.execute("COMMENT ON FUNCTION tiles_summary_requests() IS 'older'")
    ClusterCell.objects.all().delete()
    ClusterChange.objects.all().delete()
    assert summary.install() == ["requests"]
    assert counts(10) == [1]
