"""Shared fixtures: the demo registry seed, mapping/file writers, and the fixtures folder."""

import json
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from gis import services
from gis.importing.mapping import parse_mapping

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def tests_task_queue_emptied():
    """Tasks the tests enqueue and no worker of theirs runs are dropped at the end (the queue is the
    tests' own: settings.CELERY_TASK_DEFAULT_QUEUE under pytest)."""
    yield
    from fieldsvc.celery import app

    assert settings.CELERY_TASK_DEFAULT_QUEUE != "celery", "the tests would feed the stack's worker"
    try:
        with app.connection_for_write() as connection:
            for queue in settings.FIELDSVC_CELERY_QUEUES:  # the default and those of each kind of task
                connection.default_channel.queue_purge(queue)
    except Exception:  # noqa: BLE001 - a broker already gone leaves nothing to drop
        pass


@pytest.fixture(autouse=True)
def fresh_area_index(settings):
    """Each test sees the districts of its own transaction (the in-process index re-checks at once)."""
    settings.FIELDSVC_AREAS_RECHECK_S = 0
    settings.FIELDSVC_CATALOGUE_RECHECK_S = 0


@pytest.fixture
def registry(db):
    """Departments and asset types of the demo (fixtures/registry.yaml)."""
    seed = yaml.safe_load((FIXTURES / "registry.yaml").read_text())
    services.registry_seed(departments=seed["departments"], asset_types=seed["asset_types"])


@pytest.fixture
def mapping_for():
    """A parsed mapping from a dict, as a mapping file would give it."""
    return parse_mapping


@pytest.fixture
def mapping_file(tmp_path):
    def write(raw: dict, name: str = "mapping.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(raw))
        return path

    return write


@pytest.fixture
def geojson_file(tmp_path):
    """Write a FeatureCollection of (properties, geometry) pairs; geometry is a GeoJSON dict or None."""

    def write(features: list[tuple[dict, dict | None]], name: str = "layer.geojson") -> Path:
        path = tmp_path / name
        path.write_text(
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features
                    ],
                }
            )
        )
        return path

    return write
