"""The cached-tile fast path (tiles/fastpath.py): it answers a cached public tile exactly as Django does,
and hands everything else to Django."""

import pytest
from django.contrib.gis.geos import Point
from django.test import Client, RequestFactory, override_settings

from gis import crs
from gis.models import Asset, AssetType
from tests.tiles.test_tiles import LAT, LON, tile_of
from tiles.fastpath import TileFastPath

pytestmark = pytest.mark.django_db
DJANGO = [b"answered by Django"]


@pytest.fixture(autouse=True)
def fresh_tile_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def lamps(registry):
    x, y = crs.storage_point(LON, LAT)
    lamp_type = AssetType.objects.get(code="streetlight")
    for n in range(3):
        Asset.objects.create(asset_type=lamp_type, external_id=f"L-{n}",
                             geom=Point(x + 20 * n, y, srid=crs.storage_srid()))


class Django:
    """Stands for the project behind the fast path: says whether a request reached it."""

    def __init__(self):
        self.called = 0

    def __call__(self, environ, start_response):
        self.called += 1
        start_response("418 I'm a teapot", [])
        return DJANGO


def fast_path(path: str, method: str = "GET", **headers):
    django = Django()
    answered = {}

    def start_response(status, response_headers):
        answered["status"], answered["headers"] = status, response_headers

    environ = RequestFactory().generic(method, path, **headers).environ
    body = b"".join(TileFastPath(django)(environ, start_response))
    return django.called, answered, body


def django_headers(response) -> set[tuple[str, str]]:
    return {(name, value) for name, value in response.items()}


def test_a_cached_tile_is_answered_with_djangos_status_headers_and_body(client, lamps):
    path = "/tiles/assets/{}/{}/{}.mvt".format(*tile_of(LON, LAT, 17))
    by_django = client.get(path)  # builds the tile and caches it
    called, answered, body = fast_path(path)
    assert not called and answered["status"] == "200 OK"
    assert set(answered["headers"]) == django_headers(by_django) and body == by_django.content
    # The browser asks again with the ETag: 304 from both, no body.
    etag = by_django["ETag"]
    by_django = client.get(path, HTTP_IF_NONE_MATCH=etag)
    called, answered, body = fast_path(path, HTTP_IF_NONE_MATCH=etag)
    assert not called and answered["status"] == "304 Not Modified" and by_django.status_code == 304
    assert set(answered["headers"]) == django_headers(by_django) and body == b""


def test_empty_tiles_are_204_from_the_cache_and_outside_the_layers_zooms(client, lamps):
    sea = "/tiles/assets/{}/{}/{}.mvt".format(*tile_of(-70.0, 42.0, 16))
    below = "/tiles/assets/{}/{}/{}.mvt".format(*tile_of(LON, LAT, 10))  # assets start at z13
    for path in (sea, below):
        by_django = client.get(path)
        called, answered, body = fast_path(path)
        assert not called and answered["status"] == "204 No Content" and by_django.status_code == 204
        assert set(answered["headers"]) == django_headers(by_django) and body == b""


def test_staff_and_live_layers_misses_and_other_requests_go_to_django(client, lamps):
    z, x, y = tile_of(LON, LAT, 17)
    client.get(f"/tiles/assets/{z}/{x}/{y}.mvt")
    client.get(f"/tiles/utility_structures/{z}/{x}/{y}.mvt")  # staff only: Django says 404, nothing cached
    for path, method, headers in [
        (f"/tiles/utility_structures/{z}/{x}/{y}.mvt", "GET", {}),  # staff only: permissions are Django's
        (f"/tiles/crews/{z}/{x}/{y}.mvt", "GET", {}),
        (f"/tiles/requests/{z}/{x}/{y}.mvt", "GET", {}),  # live, never cached
        (f"/tiles/assets/{z}/{x + 1}/{y}.mvt", "GET", {}),  # not cached yet
        (f"/tiles/assets/{z}/{x}/{y}.mvt", "POST", {}),
        (f"/tiles/assets/{z}/{x}/{y}.mvt", "HEAD", {}),
        (f"/tiles/assets/{z}/{x}/{y}.mvt", "GET", {"HTTP_HOST": "evil.example"}),  # Django answers 400
        ("/tiles/assets/23/0/0.mvt", "GET", {}), ("/tiles/assets/3/8/0.mvt", "GET", {}),  # Django's 400
        ("/tiles/nothing/3/0/0.mvt", "GET", {}), ("/tiles/assets.json", "GET", {}), ("/health", "GET", {}),
    ]:
        called, answered, body = fast_path(path, method, **headers)
        assert called == 1 and body == b"".join(DJANGO), (path, method, headers)


def test_the_fast_path_steps_aside_when_the_settings_ask_for_more_than_it_mirrors(client, lamps):
    path = "/tiles/assets/{}/{}/{}.mvt".format(*tile_of(LON, LAT, 17))
    client.get(path)
    assert fast_path(path)[0] == 0
    with override_settings(FIELDSVC_TILE_FAST_PATH=False):
        assert fast_path(path)[0] == 1
    from django.conf import settings

    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]):
        assert fast_path(path)[0] == 1
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert fast_path(path)[0] == 1  # Django redirects to HTTPS
        called, answered, _ = fast_path(path, secure=True)
        assert not called and answered["status"] == "200 OK"
    with override_settings(SECURE_HSTS_SECONDS=3600):
        by_django = Client().get(path, secure=True)  # a new client: middleware reads settings when loaded
        called, answered, _ = fast_path(path, secure=True)
        assert ("Strict-Transport-Security", "max-age=3600") in answered["headers"]
        assert set(answered["headers"]) == django_headers(by_django)
