"""GET /tiles/{layer}/{z}/{x}/{y}.mvt: a layer's vector tile, 204 when empty, with an ETag."""

import hashlib

from django.http import HttpRequest, HttpResponse, JsonResponse

from tiles import sql
from tiles.layers import LAYERS

MAX_ZOOM = 22
MVT = "application/vnd.mapbox-vector-tile"


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def tile(request: HttpRequest, layer: str, z: int, x: int, y: int) -> HttpResponse:
    found = LAYERS.get(layer)
    if found is None or (found.staff_only and not request.user.is_staff):
        return _error(404, "unknown_layer", f"no layer {layer!r}; layers: {', '.join(sorted(_visible(request)))}")
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        return _error(400, "tile_out_of_range", f"z is 0-{MAX_ZOOM}, x and y 0-{2 ** z - 1} at z={z}"
                      if 0 <= z <= MAX_ZOOM else f"z is 0-{MAX_ZOOM}")
    data = sql.tile(found, z, x, y) if found.minzoom <= z <= found.maxzoom else b""
    # Public layers may be cached anywhere for a minute; staff layers only by the browser.
    cache = "private, max-age=30" if found.staff_only else "public, max-age=60"
    if not data:
        response = HttpResponse(status=204)
        response["Cache-Control"] = cache
        return response
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type=MVT)
    response["ETag"], response["Cache-Control"] = etag, cache
    return response


def _visible(request: HttpRequest) -> list[str]:
    return [name for name, layer in LAYERS.items() if not layer.staff_only or request.user.is_staff]
