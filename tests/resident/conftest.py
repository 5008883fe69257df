"""The residents' pages: the demo catalogue (ten languages) and a helper to report through the intake."""

from pathlib import Path

import pytest
from django.core.management import call_command

from workorders import selectors, services

CATALOGUE = Path(__file__).resolve().parents[2] / "fixtures" / "catalogue" / "services.yaml"
# Boston City Hall Plaza (WGS84, read off OpenStreetMap); 0.00018° of latitude is about 20 m.
CITY_HALL = (42.3603, -71.0580)
TWENTY_M_NORTH = (42.36048, -71.0580)
TWO_KM_NORTH = (42.3783, -71.0580)
# The smallest valid PNG (1×1): what media.uploads_check recognises by its first bytes.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000105a1a3b0d80000000049454e44ae426082")


@pytest.fixture
def demo_catalogue(registry):
    call_command("load_catalogue", str(CATALOGUE), rules="")


@pytest.fixture
def report_at():
    def report(code: str, at: tuple[float, float], **fields):
        data = services.RequestInput(lat=at[0], long=at[1], check_duplicates=False, require_answers=False,
                                       **fields)
        request, _ = services.request_create(service=selectors.service_get(code=code), data=data)
        return request

    return report
