"""Top-level URL routes."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from fieldsvc import console, maps, report, resident, stats, views

urlpatterns = [
    path("", views.home, name="home"),
    path("map/", maps.map_page, name="map"),
    path("console/", console.console_page, name="console"),
    path("stats/", stats.stats_page, name="stats"),
    path("health", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/stats/", include("workorders.urls_stats")),
    path("api/field/", include("workorders.urls_field")),
    path("api/", include("gis.urls")),
    path("api/", include("workorders.urls")),
    path("open311/v2/", include("workorders.open311.urls")),
    path("tiles/", include("tiles.urls")),
    path("wfs/", include("gis.wfs.urls")),
    path("status", resident.status_lookup, name="status-lookup"),
    path("requests/<str:number>", resident.request_status, name="request-status"),
    path("survey/<str:token>", resident.survey, name="survey"),
    path("field/", include("fieldsvc.urls_field")),
    path("report/", report.report_page, name="report"),
    path("report/nearby.json", report.report_nearby, name="report-nearby"),
    path("report/duplicates.json", report.report_duplicates, name="report-duplicates"),
    path("report/places.json", report.report_places, name="report-places"),
    path("report/follow", report.report_follow, name="report-follow"),
    # Uploaded photos; behind a proxy in production, the proxy can serve MEDIA_ROOT itself.
    re_path(r"^media/(?P<path>requests/.+)$", views.media, name="media"),
]
# JSON / Open311 bodies for paths no route matches under the APIs (fieldsvc/errors.py).
handler404 = "fieldsvc.errors.not_found"
