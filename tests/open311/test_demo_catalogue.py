"""The demo catalogue (fixtures/catalogue/services.yaml): loads, covers Boston's topics, ten languages."""

from pathlib import Path

import orjson
import pytest
import yaml
from django.core.management import call_command

from workorders.catalogue import LOCALES
from workorders.models import Service

pytestmark = pytest.mark.django_db
CATALOGUE = Path(__file__).resolve().parents[2] / "fixtures" / "catalogue" / "services.yaml"


@pytest.fixture
def demo_catalogue(registry):
    call_command("load_catalogue", str(CATALOGUE), rules="")  # routing rules: tests/linking


def test_every_service_speaks_the_ten_languages(demo_catalogue, client):
    data = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    assert tuple(data["languages"]) == LOCALES
    assert Service.objects.count() == len(data["services"]) >= 70
    for locale in LOCALES:
        services = orjson.loads(client.get(f"/open311/v2/services.json?locale={locale}").content)
        assert len(services) == len(data["services"])
        if locale != "en":
            english = {s["code"]: s["name"] for s in data["services"]}
            translated = sum(1 for s in services if s["service_name"] != english[s["service_code"]])
            assert translated >= 0.9 * len(services), locale


def test_loading_again_changes_nothing(demo_catalogue):
    before = list(Service.objects.order_by("code").values_list("code", "name", "sla_hours"))
    call_command("load_catalogue", str(CATALOGUE), rules="")  # routing rules: tests/linking
    assert list(Service.objects.order_by("code").values_list("code", "name", "sla_hours")) == before


@pytest.mark.parametrize("words, expected", [
    ("street light out", "streetlight-outage"),
    ("hole in road", "pothole"),
    ("rats in the alley", "rodent-activity"),
    ("someone dumped a mattress", "illegal-dumping"),
    ("the sidewalk is blocked", "blocked-sidewalk"),
    ("car blocking my driveway", "parking-enforcement"),
    ("hay un bache en mi calle", "pothole"),
    ("路灯不亮", "streetlight-outage"),
    ("árbol caído", "fallen-tree"),
])
def test_residents_words_find_the_right_demo_service(demo_catalogue, client, words, expected):
    services = orjson.loads(client.get("/open311/v2/services.json", {"q": words}).content)
    assert services and services[0]["service_code"] == expected, [s["service_code"] for s in services]
