"""Registry API routes."""

from django.urls import path

from gis import views

app_name = "gis"
urlpatterns = [
    path("registry/summary", views.RegistrySummaryApi.as_view(), name="registry-summary"),
]
