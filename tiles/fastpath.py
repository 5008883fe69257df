"""Cached public tiles answered before Django: the WSGI wrapper fieldsvc/wsgi.py puts around the project.

A map asks for hundreds of tiles a minute, most of them already in the tile cache; answered here rather
than through Django's middleware and URL resolver, gunicorn's three workers serve 2-3x as many cached
tiles a second (bench/tiles_bench.py: 5,500-6,000 against 2,100-2,700 on two cores). Only a GET of
``/tiles/{layer}/{z}/{x}/{y}.mvt`` for a public, cached layer whose tile is in the cache is answered
here, with the status and headers tiles/views.py gives (the same ``answer`` builds them) and those
Django's middleware adds. Everything else goes to Django: other paths and methods, staff layers
(permissions are Django's alone), live layers, a tile not cached yet, an address Django would refuse
(range, host), a redirect to HTTPS, a cache error, and every request while the middleware stack holds
anything this module does not mirror. A public layer's tile is the same for every caller and its view
never reads the session, so cookies change nothing here.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.signals import setting_changed
from django.http.request import split_domain_port, validate_host
from django.urls import reverse

from tiles import cache as tile_cache
from tiles.layers import LAYERS
from tiles.views import MAX_ZOOM, answer

# Middleware whose effect on a public tile is mirrored below, or is none: WhiteNoise serves static files
# only; sessions, CSRF, auth and messages add nothing to a response whose view did not use them.
MIRRORED_MIDDLEWARE = {
    "django.middleware.security.SecurityMiddleware", "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware", "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware", "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fieldsvc.replica.ReplicaReadsMiddleware",  # tiles are not among its paths; a GET writes nothing
    "gis.audit.context.AuditOriginMiddleware",  # notes where staff actions come from; reading a tile is none
    "fieldsvc.outage.DatabaseUnavailableMiddleware",  # only acts on a view's database error; a cached tile has none
}
STATUS_LINES = {200: "200 OK", 204: "204 No Content", 304: "304 Not Modified"}
MAX_HOSTS_REMEMBERED = 64


@dataclass
class _Plan:
    """What the settings decide, read once per process (again when a test changes a setting)."""

    on: bool
    pattern: re.Pattern
    layers: dict
    allowed_hosts: list[str]
    forwarded_host: bool
    forwarded_port: bool
    proxy_ssl_header: tuple[str, str] | None
    ssl_redirect: bool
    headers: dict[bool, list[tuple[str, str]]]  # secure? -> what the middleware adds
    hosts: dict[str, bool] = field(default_factory=dict)  # Host header -> allowed?


_plan: _Plan | None = None


def _forget(**kwargs) -> None:
    global _plan
    _plan = None


setting_changed.connect(_forget, dispatch_uid="tiles-fastpath")


def _make_plan() -> _Plan:
    # The tile route's path, as fieldsvc/urls.py places it; non-negative numbers only (Django answers the rest).
    prefix = reverse("tiles:tile", kwargs={"layer": "layer", "z": 0, "x": 0, "y": 0}).removesuffix("layer/0/0/0.mvt")
    on = (settings.FIELDSVC_TILE_FAST_PATH and set(settings.MIDDLEWARE) <= MIRRORED_MIDDLEWARE
          and not settings.DISALLOWED_USER_AGENTS and not settings.PREPEND_WWW)
    return _Plan(
        on=on, pattern=re.compile(re.escape(prefix) + r"([-a-zA-Z0-9_]+)/(\d{1,9})/(\d{1,9})/(\d{1,9})\.mvt"),
        layers={name: layer for name, layer in LAYERS.items() if layer.cached and not layer.staff_only},
        allowed_hosts=settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []),
        forwarded_host=settings.USE_X_FORWARDED_HOST, forwarded_port=settings.USE_X_FORWARDED_PORT,
        proxy_ssl_header=settings.SECURE_PROXY_SSL_HEADER,
        ssl_redirect=settings.SECURE_SSL_REDIRECT, headers={s: _middleware_headers(s) for s in (False, True)})


class TileFastPath:
    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        global _plan
        if environ.get("REQUEST_METHOD") == "GET":
            plan = _plan or (_plan := _make_plan())
            match = plan.on and plan.pattern.fullmatch(environ.get("PATH_INFO", ""))
            if match:
                answered = _answer(plan, environ, *match.groups())
                if answered is not None:
                    status, headers, body = answered
                    start_response(STATUS_LINES[status], headers)
                    return [body]
        return self.app(environ, start_response)


def _answer(plan: _Plan, environ: dict, name: str, z_text: str, x_text: str, y_text: str) -> tuple | None:
    """(status, headers, body), or None for Django to answer."""
    layer = plan.layers.get(name)
    if layer is None:
        return None  # unknown, staff-only or live
    z, x, y = int(z_text), int(x_text), int(y_text)
    if z > MAX_ZOOM or x >= 2 ** z or y >= 2 ** z or not _host_allowed(plan, environ):
        return None
    secure = _is_secure(plan, environ)
    if plan.ssl_redirect and not secure:
        return None
    if not layer.minzoom <= z <= layer.maxzoom:
        data, etag = b"", ""
    else:
        try:
            found = tile_cache.cached(layer.name, z, x, y)
        except Exception:  # noqa: BLE001 (the cache is down: Django answers as it does then)
            return None
        if found is None:
            return None
        data, etag = found
    status, headers, body = answer(data, etag, environ.get("HTTP_IF_NONE_MATCH"), staff_only=False)
    return status, headers + plan.headers[secure] + [("Content-Length", str(len(body)))], body


def _host_allowed(plan: _Plan, environ: dict) -> bool:
    """HttpRequest.get_host's check (CommonMiddleware answers 400 to a host not allowed)."""
    if plan.forwarded_host and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    elif "HTTP_HOST" in environ:
        host = environ["HTTP_HOST"]
    else:  # HTTP/1.0 without a Host header: PEP 3333's server name and port, as Django takes them
        port = environ.get("HTTP_X_FORWARDED_PORT") if plan.forwarded_port else None
        port = port or str(environ.get("SERVER_PORT", ""))
        host = environ.get("SERVER_NAME", "")
        host += "" if port == ("443" if _is_secure(plan, environ) else "80") else f":{port}"
    allowed = plan.hosts.get(host)
    if allowed is None:
        domain, _ = split_domain_port(host)
        allowed = bool(domain and validate_host(domain, plan.allowed_hosts))
        if len(plan.hosts) < MAX_HOSTS_REMEMBERED:
            plan.hosts[host] = allowed
    return allowed


def _is_secure(plan: _Plan, environ: dict) -> bool:
    """HttpRequest.is_secure, with SECURE_PROXY_SSL_HEADER."""
    if plan.proxy_ssl_header:
        header, secure_value = plan.proxy_ssl_header
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _middleware_headers(secure: bool) -> list[tuple[str, str]]:
    """What XFrameOptionsMiddleware and SecurityMiddleware add to a response of the tile view."""
    middleware, headers = settings.MIDDLEWARE, []
    if "django.middleware.clickjacking.XFrameOptionsMiddleware" in middleware:
        headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS.upper()))
    if "django.middleware.security.SecurityMiddleware" in middleware:
        if secure and settings.SECURE_HSTS_SECONDS:
            hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
            hsts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
            hsts += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
            headers.append(("Strict-Transport-Security", hsts))
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            headers.append(("X-Content-Type-Options", "nosniff"))
        policy = settings.SECURE_REFERRER_POLICY
        if policy:
            values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
            headers.append(("Referrer-Policy", ",".join(values)))
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
            headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return headers
