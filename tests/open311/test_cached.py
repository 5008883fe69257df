"""The per-process catalogue and API-key copies: used while fresh, rebuilt when the catalogue moves."""

import pytest

from workorders import cached, services
from workorders.models import Service

pytestmark = pytest.mark.django_db


def test_catalogue_copy_follows_changes_after_the_recheck_interval(catalogue, settings):
    settings.FIELDSVC_CATALOGUE_RECHECK_S = 3600
    cached.forget()
    assert cached.catalogue().by_code["pothole"].name == "Pothole"
    Service.objects.filter(code="pothole").update(name="Road hole")  # no updated_at change, no recheck yet
    assert cached.catalogue().by_code["pothole"].name == "Pothole"
    settings.FIELDSVC_CATALOGUE_RECHECK_S = 0
    pothole = Service.objects.get(code="pothole")
    pothole.save()  # a real edit moves updated_at
    assert cached.catalogue().by_code["pothole"].name == "Road hole"
    light = Service.objects.get(code="streetlight-outage")
    light.related.add(pothole)  # a new related link is seen too
    assert cached.catalogue().related_ids[light.pk] == [pothole.pk]


def test_a_revoked_key_stops_working_after_the_interval(catalogue, settings):
    settings.FIELDSVC_CATALOGUE_RECHECK_S = 3600
    cached.forget()
    record, key = services.api_key_create(name="app")
    digest = services.api_key_hash(key)
    assert cached.api_key(digest) == record
    services.api_key_revoke(api_key=record)
    assert cached.api_key(digest) == record  # still trusted within the interval
    settings.FIELDSVC_CATALOGUE_RECHECK_S = 0
    assert cached.api_key(digest) is None
