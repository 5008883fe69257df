"""Crews' photos under /api/field/photos/."""

from django.urls import path

from workorders import api_uploads as api

# <str:…>, not <uuid:…>: a malformed id gets the JSON 404 of the API, not the site's HTML one.
urlpatterns = [
    path("<str:photo_id>", api.PhotoFileApi.as_view(), name="photo"),
]
