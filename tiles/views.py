"""GET /tiles/{layer}/{z}/{x}/{y}.mvt (a layer's vector tile, 204 when empty, with an ETag),
/tiles/{layer}.json (its TileJSON) and /tiles/style.json (a MapLibre style of the layers the caller sees)."""

from django.http import HttpRequest, HttpResponse, JsonResponse

from fieldsvc import replica
from gis import crs
from tiles import cache as tile_cache
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
    if not found.minzoom <= z <= found.maxzoom:
        data, etag = b"", ""
    elif found.cached:
        data, etag = tile_cache.fetch(found.name, z, x, y, lambda: _build(request, found, z, x, y, cached=True))
    else:
        data = _build(request, found, z, x, y, cached=False)
        etag = tile_cache.etag_of(data)
    status, headers, body = answer(data, etag, request.headers.get("If-None-Match"), staff_only=found.staff_only)
    response = HttpResponse(body, status=status)
    del response["Content-Type"]  # set below for a tile only (not on 204 or 304)
    for name, value in headers:
        response[name] = value
    return response


def _build(request: HttpRequest, layer, z: int, x: int, y: int, *, cached: bool) -> bytes:
    """The tile from the replica when it may serve this client; a tile to be cached only from a replica that
    has replayed the layer's last invalidated change, or the cache would keep the tile from before it."""
    alias = replica.read_alias(request, min_lsn=tile_cache.changed_lsn(layer.name) if cached else None)
    return replica.read_with(alias, lambda: sql.tile(layer, z, x, y))


def answer(data: bytes, etag: str, if_none_match: str | None, *, staff_only: bool) -> tuple[
        int, list[tuple[str, str]], bytes]:
    """Status, headers and body for a tile (empty: 204). Shared with the cached-tile fast path
    (tiles/fastpath.py), so both answer alike."""
    # Public layers may be cached anywhere for a minute; staff layers only by the browser.
    cache_control = ("Cache-Control", "private, max-age=30" if staff_only else "public, max-age=60")
    if not data:
        return 204, [cache_control], b""
    if if_none_match == etag:
        return 304, [("ETag", etag), cache_control], b""
    return 200, [("Content-Type", MVT), ("ETag", etag), cache_control], data


def _visible(request: HttpRequest) -> list[str]:
    return [name for name, layer in LAYERS.items() if not layer.staff_only or request.user.is_staff]


def _url(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path).replace("%7B", "{").replace("%7D", "}")


def tilejson(request: HttpRequest, layer: str) -> JsonResponse:
    found = LAYERS.get(layer)
    if found is None or (found.staff_only and not request.user.is_staff):
        return _error(404, "unknown_layer", f"no layer {layer!r}; layers: {', '.join(sorted(_visible(request)))}")
    fields = {"count": "Number"} if found.cluster_below is not None else {}
    fields |= {name: "String" for name in found.properties}
    return JsonResponse({
        "tilejson": "3.0.0", "name": found.name, "scheme": "xyz", "minzoom": found.minzoom,
        "maxzoom": found.maxzoom, "bounds": list(area_lonlat()),
        "tiles": [_url(request, f"/tiles/{found.name}/{{z}}/{{x}}/{{y}}.mvt")],
        "vector_layers": [{"id": found.name, "fields": fields, "minzoom": found.minzoom, "maxzoom": found.maxzoom}],
    })


# How each layer is drawn in the combined style: MapLibre layer type and paint.
_DRAW = {
    "neighbourhoods": ("line", {"line-color": "#6c757d", "line-width": 1}),
    "utility_lines": ("line", {"line-color": "#1f78b4", "line-width": 2}),
    "utility_structures": ("circle", {"circle-color": "#1f78b4", "circle-radius": 3}),
    "assets": ("circle", {"circle-color": "#ff7f00", "circle-radius": 3}),
    "requests": ("circle", {"circle-color": "#e31a1c", "circle-radius": 5, "circle-stroke-color": "#fff",
                            "circle-stroke-width": 1}),
    "work_orders": ("circle", {"circle-color": "#6a3d9a", "circle-radius": 5}),
    "crews": ("circle", {"circle-color": "#33a02c", "circle-radius": 7, "circle-stroke-color": "#fff",
                         "circle-stroke-width": 2}),
}


def style(request: HttpRequest) -> JsonResponse:
    """Every layer the caller may see, in drawing order (areas under lines under points), each its own
    source (its TileJSON); no basemap: the map works offline."""
    names = [n for n in _DRAW if n in _visible(request)]
    west, south, east, north = area_lonlat()
    return JsonResponse({
        "version": 8, "name": "fieldsvc", "center": [(west + east) / 2, (south + north) / 2], "zoom": 11,
        "sources": {n: {"type": "vector", "url": _url(request, f"/tiles/{n}.json")} for n in names},
        "layers": [{"id": "background", "type": "background", "paint": {"background-color": "#f8f9fa"}}] + [
            {"id": n, "type": _DRAW[n][0], "source": n, "source-layer": n, "paint": _DRAW[n][1]} for n in names],
    })


def area_lonlat() -> tuple[float, float, float, float]:
    return crs.storage_area_lonlat()
