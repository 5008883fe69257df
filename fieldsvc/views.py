"""Project-level pages: health probe and the landing page."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from fieldsvc.health import health_report


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    report, serving = health_report()
    return JsonResponse(report, status=200 if serving else 503)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "fieldsvc/home.html")
