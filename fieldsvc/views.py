"""Project-level pages: health probe and the landing page."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.static import serve

from fieldsvc.health import health_report


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    report, serving = health_report()
    return JsonResponse(report, status=200 if serving else 503)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "fieldsvc/home.html")


def media(request, path: str):
    """An uploaded photo (MEDIA_ROOT read per call, so deployments and tests can move it)."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)
