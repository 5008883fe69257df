"""The crew API (/api/field/): what a crew's tablet reads and sends (docs/field-api.md)."""

from django.urls import include, path

from workorders import api_field as api

app_name = "field"
urlpatterns = [
    path("token", api.FieldTokenApi.as_view(), name="token"),
    path("manifest", api.FieldManifestApi.as_view(), name="manifest"),
    path("work-orders", api.FieldWorkOrderListApi.as_view(), name="work-orders"),
    path("work-orders/<int:pk>", api.FieldWorkOrderApi.as_view(), name="work-order"),
    path("work-orders/<int:pk>/transitions", api.FieldTransitionApi.as_view(), name="transitions"),
    path("work-orders/<int:pk>/notes", api.FieldNoteApi.as_view(), name="notes"),
    path("work-orders/<int:pk>/materials", api.FieldMaterialApi.as_view(), name="materials"),
    path("changes", api.FieldChangesApi.as_view(), name="changes"),
    path("sync", api.FieldSyncApi.as_view(), name="sync"),
    path("plan", api.FieldPlanApi.as_view(), name="plan"),
    path("positions", api.FieldPositionsApi.as_view(), name="positions"),
    path("uploads/", include("workorders.urls_uploads")),
    path("photos/", include("workorders.urls_photos")),
]
