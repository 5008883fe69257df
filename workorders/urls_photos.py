"""Crews' photos under /api/field/photos/."""

urlpatterns = []
