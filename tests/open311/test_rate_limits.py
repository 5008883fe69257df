"""Rate limits: per client address and per API key, 429 with the Open311 error body and Retry-After."""

import pytest

from tests.open311.conftest import body_data
from tests.open311.test_conformance import FORMATS, post
from workorders import services
from workorders.models import ServiceRequest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", FORMATS)
def test_too_many_calls_from_one_address_get_429(client, catalogue, settings, fmt):
    settings.FIELDSVC_OPEN311_RATE_PER_ADDRESS = 3
    codes = [client.get(f"/open311/v2/services.{fmt}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get(f"/open311/v2/services.{fmt}")
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert body_data(limited)[0]["code"] in (429, "429")
    other = client.get(f"/open311/v2/services.{fmt}", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200  # another address has its own budget


def test_each_api_key_has_its_own_post_budget(client, catalogue, settings):
    settings.FIELDSVC_OPEN311_RATE_PER_KEY = 2
    _, busy = services.api_key_create(name="busy app")
    _, generous_key = services.api_key_create(name="city site", rate_per_minute=100)
    assert [post(client, "json", busy, description=f"n{n}").status_code for n in range(3)] == [201, 201, 429]
    assert post(client, "json", generous_key, description="n9").status_code == 201
    assert ServiceRequest.objects.count() == 3  # the refused one wrote nothing


def test_forwarded_address_is_used_only_behind_trusted_proxies(client, catalogue, settings):
    settings.FIELDSVC_OPEN311_RATE_PER_ADDRESS = 1
    spoofed = {"HTTP_X_FORWARDED_FOR": "1.2.3.4"}
    assert client.get("/open311/v2/services.json", **spoofed).status_code == 200
    assert client.get("/open311/v2/services.json", HTTP_X_FORWARDED_FOR="5.6.7.8").status_code == 429
    settings.FIELDSVC_TRUSTED_PROXIES = 1
    assert client.get("/open311/v2/services.json", HTTP_X_FORWARDED_FOR="9.9.9.9").status_code == 200
