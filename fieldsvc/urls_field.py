"""The crews' tablet app (/field/): the page, its service worker, its web manifest and sign-in."""

from django.urls import path

from fieldsvc import field

# Not "field": that namespace is the crew API's (workorders/urls_field.py).
app_name = "field_app"
urlpatterns = [
    path("", field.field_app, name="app"),
    path("sw.js", field.service_worker, name="sw"),
    path("manifest.webmanifest", field.web_manifest, name="manifest"),
    path("login/", field.field_login, name="login"),
    path("logout/", field.field_logout, name="logout"),
]
