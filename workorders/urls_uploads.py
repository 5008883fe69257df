"""Resumable photo uploads (tus 1.0) under /api/field/uploads/."""

from django.urls import path

from workorders import api_uploads as api

# <str:…>, not <uuid:…>: a malformed id gets the JSON 404 of the API, not the site's HTML one.
urlpatterns = [
    path("", api.UploadCreateApi.as_view(), name="uploads"),
    path("<str:upload_id>", api.UploadApi.as_view(), name="upload"),
]
