"""Every admin list and add page opens (with data, filters and the date drill-down), as staff use them."""

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from tests.open311.conftest import CATALOGUE
from workorders import services
from workorders.models import Service
from workorders.services import RequestInput, request_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model, registry):
    user = django_user_model.objects.create_superuser("boss", "boss@example.city", "pw")
    client.force_login(user)
    services.catalogue_load(data=CATALOGUE)
    request_create(service=Service.objects.get(code="streetlight-outage"),
                   data=RequestInput(lat=42.3736, long=-71.1097, description="Dark corner"))
    return client


@pytest.mark.parametrize("model", [m for m in admin.site._registry], ids=lambda m: m._meta.label)
def test_every_admin_changelist_and_add_page_opens(staff_client, model):
    meta = model._meta
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    assert staff_client.get(changelist).status_code == 200
    assert staff_client.get(changelist, {"q": "dark"}).status_code == 200
    add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    assert staff_client.get(add).status_code in (200, 403)  # some records are only made by the system


def test_request_list_drills_down_by_date(staff_client):
    changelist = reverse("admin:workorders_servicerequest_changelist")
    page = staff_client.get(changelist)
    assert page.status_code == 200 and b"Street Light Outage" in page.content
    today = timezone.localdate()
    for params in ({"requested_at__year": today.year}, {"requested_at__year": today.year,
                                                        "requested_at__month": today.month}):
        assert staff_client.get(changelist, params).status_code == 200


def test_relink_action_links_a_few_now_and_hands_many_to_the_worker(staff_client, settings, monkeypatch):
    from workorders import admin as workorders_admin
    from workorders.models import LinkState, RequestLink, ServiceRequest

    changelist = reverse("admin:workorders_servicerequest_changelist")
    ids = [str(pk) for pk in ServiceRequest.objects.values_list("pk", flat=True)]
    page = staff_client.post(changelist, {"action": "relink", "_selected_action": ids}, follow=True)
    assert b"1 request(s) linked and routed again." in page.content
    assert RequestLink.objects.get(pk=ids[0]).state == LinkState.LINKED

    sent = []
    monkeypatch.setattr(workorders_admin, "enqueue", lambda name, **kw: sent.append((name, kw)) or True)
    settings.FIELDSVC_LINK_MEMORY_MIN_BATCH = 1  # "many", so not in the page view
    page = staff_client.post(changelist, {"action": "relink", "_selected_action": ids}, follow=True)
    assert b"being linked and routed again by the worker" in page.content
    assert sent == [("workorders.tasks.requests_link_task", {"request_ids": [int(ids[0])], "force": True})]
    monkeypatch.setattr(workorders_admin, "enqueue", lambda name, **kw: False)  # broker down: said so
    page = staff_client.post(changelist, {"action": "relink", "_selected_action": ids}, follow=True)
    assert b"task queue is unreachable" in page.content
