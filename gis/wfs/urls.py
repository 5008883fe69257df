"""WFS route."""

from django.urls import path

from gis.wfs.views import RegistryWfsApi

urlpatterns = [path("", RegistryWfsApi.as_view(), name="wfs")]
