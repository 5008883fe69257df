"""Open311 GeoReport v2 routes under /open311/v2/: every resource as .xml and as .json.

Each suffix is its own route (not a {format} pattern), so the OpenAPI description lists both.
"""

from django.urls import path

from workorders.open311 import updates, views

ROUTES = [
    ("discovery", views.DiscoveryApi, "open311-discovery"),
    ("services", views.ServiceListApi, "open311-services"),
    ("services/<slug:service_code>", views.ServiceDefinitionApi, "open311-service-definition"),
    ("requests", views.RequestListCreateApi, "open311-requests"),
    ("requests/<int:service_request_id>", views.RequestDetailApi, "open311-request"),
    ("servicerequestupdates", updates.ServiceRequestUpdatesApi, "open311-request-updates"),
    ("tokens/<slug:token>", views.TokenApi, "open311-token"),
]

urlpatterns = [path("", views.discovery_page, name="open311-index")] + [
    path(f"{route}.{fmt}", view.as_view(), {"format": fmt}, name=f"{name}-{fmt}")
    for route, view, name in ROUTES
    for fmt in ("xml", "json")
]
