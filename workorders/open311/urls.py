"""Open311 GeoReport v2 routes under /open311/v2/: every resource as .xml and .json."""

from django.urls import path, re_path

from workorders.open311 import updates, views

FMT = r"\.(?P<format>xml|json)$"

urlpatterns = [
    path("", views.discovery_page, name="open311-index"),
    re_path(r"^discovery" + FMT, views.DiscoveryApi.as_view(), name="open311-discovery"),
    re_path(r"^services" + FMT, views.ServiceListApi.as_view(), name="open311-services"),
    re_path(r"^services/(?P<service_code>[-\w]+)" + FMT, views.ServiceDefinitionApi.as_view(),
            name="open311-service-definition"),
    re_path(r"^requests" + FMT, views.RequestListCreateApi.as_view(), name="open311-requests"),
    re_path(r"^requests/(?P<service_request_id>\d{1,18})" + FMT, views.RequestDetailApi.as_view(),
            name="open311-request"),
    re_path(r"^servicerequestupdates" + FMT, updates.ServiceRequestUpdatesApi.as_view(),
            name="open311-request-updates"),
    re_path(r"^tokens/(?P<token>[-\w]{1,64})" + FMT, views.TokenApi.as_view(), name="open311-token"),
]
