"""Resumable photo uploads (tus 1.0) under /api/field/uploads/."""

urlpatterns = []
