"""Analytics and dispatcher API routes (the Open311 routes are in workorders/open311/urls.py)."""

from django.urls import path

from workorders import api, api_audit, api_console, api_field, api_work

app_name = "workorders"
urlpatterns = [
    path("analytics/requests", api.RequestCountsApi.as_view(), name="analytics-requests"),
    path("analytics/surveys", api.SurveyResultsApi.as_view(), name="analytics-surveys"),
    path("work-orders", api_work.WorkOrderListApi.as_view(), name="work-orders"),
    path("work-orders/conflicts", api_field.ConflictListApi.as_view(), name="work-order-conflicts"),
    path("work-orders/<int:pk>", api_work.WorkOrderDetailApi.as_view(), name="work-order"),
    path("work-orders/<int:pk>/conflicts/<int:conflict>/resolve", api_field.ConflictResolveApi.as_view(),
         name="work-order-conflict-resolve"),
    path("work-orders/<int:pk>/transition", api_work.WorkOrderTransitionApi.as_view(), name="work-order-transition"),
    path("work-orders/<int:pk>/assign", api_work.WorkOrderAssignApi.as_view(), name="work-order-assign"),
    path("work-orders/<int:pk>/best-crews", api_work.WorkOrderBestCrewsApi.as_view(), name="work-order-best-crews"),
    path("crews", api_work.CrewListApi.as_view(), name="crews"),
    path("crews/<int:pk>/positions", api_work.CrewPositionApi.as_view(), name="crew-positions"),
    path("crews/<int:pk>/plan", api_work.CrewPlanApi.as_view(), name="crew-plan"),
    path("console/queue", api_console.ConsoleQueueApi.as_view(), name="console-queue"),
    path("console/plans", api_console.ConsolePlansApi.as_view(), name="console-plans"),
    path("console/requests/<int:pk>", api_console.ConsoleRequestDetailApi.as_view(), name="console-request"),
    path("console/requests/<int:pk>/reclassify", api_console.RequestReclassifyApi.as_view(),
         name="console-request-reclassify"),
    path("console/requests/<int:pk>/merge", api_console.RequestMergeApi.as_view(), name="console-request-merge"),
    path("console/requests/<int:pk>/work-order", api_console.RequestWorkOrderCreateApi.as_view(),
         name="console-request-work-order"),
    path("departments/<slug:code>/day-plans", api_work.DepartmentPlanApi.as_view(), name="department-plans"),
    path("audit", api_audit.AuditEventListApi.as_view(), name="audit-events"),
]
