"""Public statistics API routes (open data): /api/stats/…, each as JSON, ?format=csv and (neighbourhoods) geojson."""

from django.urls import path

from workorders import api_stats

app_name = "stats"
urlpatterns = [
    path("sla", api_stats.SlaAttainmentListApi.as_view(), name="sla"),
    path("time-to-close", api_stats.CloseTimeListApi.as_view(), name="time-to-close"),
    path("neighbourhoods", api_stats.NeighbourhoodRateListApi.as_view(), name="neighbourhoods"),
    path("trends", api_stats.RequestTrendListApi.as_view(), name="trends"),
]
