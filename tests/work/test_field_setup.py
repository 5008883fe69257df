"""The field-service document: calendars with holidays, SLA policies, automatic dispatch, crews."""

import datetime as dt
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from tests.open311.conftest import CATALOGUE
from workorders import services
from workorders.field_setup import field_service_load
from workorders.models import Crew, Holiday, Service, SlaPolicy, WorkCalendar

pytestmark = pytest.mark.django_db
DEMO = Path(settings.BASE_DIR) / "fixtures" / "catalogue" / "field_service.yaml"


def test_the_demo_document_loads_and_reloads_in_place(registry):
    call_command("load_catalogue", "--rules", "", stdout=open("/dev/null", "w"))
    call_command("load_catalogue", "--rules", "", stdout=open("/dev/null", "w"))  # again: updated, not doubled
    assert WorkCalendar.objects.count() == 2 and Crew.objects.count() == 8
    assert Holiday.objects.filter(calendar__code="city", date=dt.date(2026, 11, 26)).get().name == "Thanksgiving Day"
    assert SlaPolicy.objects.get(service__code="pothole", priority=None).clock == "business"
    assert set(Service.objects.filter(auto_dispatch=True).values_list("code", flat=True)) == {
        "streetlight-outage", "sinking-pavement"}
    night = Crew.objects.get(code="lights-night")
    assert (night.shift_start, night.shift_end, night.shift_days) == (dt.time(22), dt.time(6), [1, 2, 3, 4, 5, 6, 7])


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["crews"][0].update(department="nowhere"), "unknown department 'nowhere'"),
    (lambda d: d["sla_policies"][0].update(service="nothing"), "unknown service 'nothing'"),
    (lambda d: d["calendars"][0].update(week={"1": [["15:00", "07:00"]]}), "ends before it starts"),
    (lambda d: d["crews"][0].update(depot=[2.35, 48.85]), "outside the storage CRS"),
])
def test_a_bad_entry_rejects_the_document_and_writes_nothing(registry, change, message):
    services.catalogue_load(data=CATALOGUE | {"services": [*CATALOGUE["services"], {
        "code": "streetlight-outage-2", "name": "x", "department": "street-lighting"}]})
    data = yaml.safe_load(DEMO.read_text())
    data["sla_policies"] = [p for p in data["sla_policies"] if p["service"] in ("pothole", "streetlight-outage")]
    data["auto_dispatch"] = ["streetlight-outage"]
    change(data)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        field_service_load(data=data)
    assert (WorkCalendar.objects.count(), Crew.objects.count(), SlaPolicy.objects.count()) == (0, 0, 0)
