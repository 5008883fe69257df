"""Import modes: streamed into a fresh namespace or merged, batch boundaries, and bulk index rebuilds."""

import pytest
from django.db import IntegrityError, connection, transaction

from gis.importing.pipeline import import_file
from gis.models import Asset, AssetType
from gis.spatial import staging
from tests.geo import CAMBRIDGE_CITY_HALL_WGS84

pytestmark = pytest.mark.django_db

LON, LAT = CAMBRIDGE_CITY_HALL_WGS84


def _points(ids: list[str], kind: str | None = None) -> list[tuple[dict, dict]]:
    return [
        ({"id": i, "kind": kind, "n": k}, {"type": "Point", "coordinates": [LON + k * 1e-4, LAT]})
        for k, i in enumerate(ids)
    ]


def _schema(table: str) -> list[tuple[str, str]]:
    """Every index and constraint of ``table`` with its definition."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY 1, 2",
            [table, table],
        )
        return cursor.fetchall()


STREETLIGHTS = {"target": "asset", "external_id": "id", "fields": {"asset_type": {"value": "streetlight"}},
                "attributes": ["n"]}
BY_KIND = {"target": "asset", "external_id": "id", "fields": {"asset_type": "kind"}, "attributes": ["n"]}


@pytest.mark.parametrize("mapping", [STREETLIGHTS, BY_KIND], ids=["fresh-namespace", "merge"])
def test_duplicate_ids_are_caught_across_batches(registry, geojson_file, mapping_for, settings, mapping):
    settings.FIELDSVC_IMPORT_BATCH_ROWS = 2
    path = geojson_file(_points(["a", "b", "c", "a", "d", "c"], kind="streetlight"))
    result = import_file(path=path, mapping=mapping_for(mapping))
    assert [(r.row, r.reason) for r in result.rejects] == [
        (4, "external id 'a' already used by row 1"),
        (6, "external id 'c' already used by row 3"),
    ]
    assert result.created == 4
    assert sorted(Asset.objects.values_list("external_id", "attributes__n")) == [
        ("a", 0), ("b", 1), ("c", 2), ("d", 4)
    ]


def test_bulk_load_into_a_fresh_namespace_rebuilds_every_index_and_constraint(
    registry, geojson_file, mapping_for, settings
):
    settings.FIELDSVC_IMPORT_BULK_MIN_ROWS = 3
    settings.FIELDSVC_IMPORT_BATCH_ROWS = 2
    before = _schema("registry_asset")
    assert any("USING gist" in d for _, d in before) and any("FOREIGN KEY" in d for _, d in before)
    result = import_file(path=geojson_file(_points([str(i) for i in range(5)])), mapping=mapping_for(STREETLIGHTS))
    assert (result.created, result.bulk) == (5, True)
    assert _schema("registry_asset") == before
    # The rebuilt constraints still hold: the unique key and the foreign key refuse bad rows.
    light = Asset.objects.get(external_id="3")
    with pytest.raises(IntegrityError), transaction.atomic():
        Asset.objects.create(asset_type=light.asset_type, external_id="3", geom=light.geom)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # Django defers foreign keys to commit
        Asset.objects.create(asset_type_id=999_999, external_id="x", geom=light.geom)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_bulk_merge_rebuilds_indexes_only_when_rows_are_added(registry, geojson_file, mapping_for, settings):
    settings.FIELDSVC_IMPORT_BULK_MIN_ROWS = 3
    before = _schema("registry_asset")
    mapping = mapping_for(BY_KIND)  # the asset type comes from a column: always staged and merged
    path = geojson_file(_points([str(i) for i in range(6)], kind="hydrant"))
    first = import_file(path=path, mapping=mapping)
    again = import_file(path=path, mapping=mapping)
    assert (first.created, first.bulk) == (6, True)
    assert (again.created, again.updated, again.unchanged, again.bulk) == (0, 0, 6, False)
    assert _schema("registry_asset") == before
    assert Asset.objects.filter(asset_type=AssetType.objects.get(code="hydrant")).count() == 6


def test_a_failure_during_a_bulk_load_leaves_table_and_indexes_as_they_were(
    registry, geojson_file, mapping_for, settings, monkeypatch
):
    settings.FIELDSVC_IMPORT_BULK_MIN_ROWS = 3
    settings.FIELDSVC_IMPORT_BATCH_ROWS = 2
    before = _schema("registry_asset")
    real_copy = staging.copy_rows
    calls = []

    def copy_then_fail(cursor, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real_copy(cursor, **kwargs)

    monkeypatch.setattr(staging, "copy_rows", copy_then_fail)
    with pytest.raises(RuntimeError, match="database went away"):
        import_file(path=geojson_file(_points([str(i) for i in range(6)])), mapping=mapping_for(STREETLIGHTS))
    assert len(calls) == 2  # the first batch was in the table before the failure
    assert Asset.objects.count() == 0
    assert _schema("registry_asset") == before
