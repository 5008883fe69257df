"""The crews' tablet app (/field/): the app shell, its service worker and web manifest, and sign-in.

The app itself is ES modules in fieldsvc/static/fieldsvc/field/, a client of the crew API (/api/field/,
docs/field-api.md) and of /tiles/. The service worker is served from /field/sw.js so that its scope is
/field/; it is the static file with this deployment's precache list and cache version put in front.
Crew members are not staff: they sign in here, not in the admin.
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

APP_DIR = "fieldsvc/field"  # the app's modules, styles and icons, under the static files
VENDOR = ["fieldsvc/vendor/maplibre-gl/maplibre-gl.mjs", "fieldsvc/vendor/maplibre-gl/maplibre-gl-worker.mjs",
          "fieldsvc/vendor/maplibre-gl/maplibre-gl.css", "fieldsvc/vendor/tus-js-client/tus.min.js"]
THEME = "#0b3d91"  # the header's blue: white text on it is 10:1


@require_GET
@never_cache  # the service worker keeps its own copy; the browser's HTTP cache must not answer first
@ensure_csrf_cookie  # writes send X-CSRFToken from the cookie, also when this page comes from the cache
@login_required(login_url=reverse_lazy("field_app:login"))
def field_app(request: HttpRequest) -> HttpResponse:
    user = request.user
    options = {
        "user": {"id": user.pk, "username": user.get_username(), "name": user.get_full_name() or user.get_username()},
        "api": "/api/field/", "style": reverse("tiles:style"), "sw": reverse("field_app:sw"),
        "scope": reverse("field_app:app"), "login": reverse("field_app:login"),
    }
    return render(request, "fieldsvc/field.html", {"options": options, "theme": THEME})


class FieldLoginView(auth_views.LoginView):
    template_name = "fieldsvc/field_login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("field_app:app")
    extra_context = {"theme": THEME}


field_login = FieldLoginView.as_view()
field_logout = auth_views.LogoutView.as_view(next_page=reverse_lazy("field_app:login"))


@lru_cache(maxsize=4)
def _precache(stamp: str) -> tuple[list[str], str]:
    """The static files the worker keeps, and a version that changes whenever one of them (or the worker)
    changes, so a deploy makes the tablets fetch the new app. ``stamp`` is the files' sizes and times."""
    del stamp  # only the cache key
    files = [f"{APP_DIR}/{p.name}" for p in _app_files()] + VENDOR
    digest = hashlib.sha256()
    for name in [*files, f"{APP_DIR}/sw.js"]:
        found = finders.find(name)
        if found:
            digest.update(name.encode() + b"\0" + Path(found).read_bytes())
    return [static(name) for name in files], digest.hexdigest()[:12]


def _app_files() -> list[Path]:
    folder = Path(finders.find(APP_DIR))
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in {".js", ".css", ".png"}
                  and p.name != "sw.js")


def _stamp() -> str:
    paths = [finders.find(name) for name in [f"{APP_DIR}/{p.name}" for p in _app_files()] + VENDOR
             + [f"{APP_DIR}/sw.js"]]
    return ";".join(f"{p}:{Path(p).stat().st_mtime_ns}:{Path(p).stat().st_size}" for p in paths if p)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    files, version = _precache(_stamp())
    config = {"version": version, "shell": reverse("field_app:app"),
              "precache": [reverse("field_app:app"), reverse("field_app:manifest"), *files]}
    source = Path(finders.find(f"{APP_DIR}/sw.js")).read_text()
    body = f"self.FIELD_CONFIG = {json.dumps(config)};\n{source}"
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    # Browsers check for a new worker on every visit when it is not cached (the update check).
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def web_manifest(request: HttpRequest) -> JsonResponse:
    icons = [{"src": static(f"{APP_DIR}/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png",
              "purpose": "any"} for size in (192, 512)]
    icons.append({"src": static(f"{APP_DIR}/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png",
                  "purpose": "maskable"})
    start = reverse("field_app:app")
    response = JsonResponse({
        "id": start, "name": "fieldsvc — crew work", "short_name": "My work", "start_url": start, "scope": start,
        "display": "standalone", "orientation": "any", "theme_color": THEME, "background_color": "#ffffff",
        "description": "Today's work orders, the map and the outbox, also without a signal.", "icons": icons,
    }, content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response
