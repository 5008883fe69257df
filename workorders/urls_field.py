"""The crew API (/api/field/): what a crew's tablet reads and sends (docs/field-api.md)."""

from django.urls import include, path

app_name = "field"
urlpatterns = [
    path("uploads/", include("workorders.urls_uploads")),
    path("photos/", include("workorders.urls_photos")),
]
