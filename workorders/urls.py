"""Analytics API routes (the Open311 routes are in workorders/open311/urls.py)."""

from django.urls import path

from workorders import api

app_name = "workorders"
urlpatterns = [
    path("analytics/requests", api.RequestCountsApi.as_view(), name="analytics-requests"),
    path("analytics/surveys", api.SurveyResultsApi.as_view(), name="analytics-surveys"),
]
