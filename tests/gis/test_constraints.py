"""The database itself refuses invalid or empty geometries, whatever writes them."""

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from gis.models import Asset, AssetType, Department, District

pytestmark = pytest.mark.django_db

BOWTIE = "SRID=26986;MULTIPOLYGON(((0 0,10 10,10 0,0 10,0 0)))"


def _raw_insert_district(ewkt: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO registry_district (kind, external_id, name, city, geom, attributes) "
            "VALUES ('neighbourhood', 'x', 'X', '', ST_GeomFromEWKT(%s), '{}')",
            [ewkt],
        )


@pytest.mark.parametrize("ewkt", [BOWTIE, "SRID=26986;MULTIPOLYGON EMPTY"])
def test_raw_sql_cannot_store_invalid_or_empty_geometry(ewkt):
    with pytest.raises(IntegrityError, match="district_geom_valid"), transaction.atomic():
        _raw_insert_district(ewkt)


def test_orm_validation_reports_the_constraint():
    district = District(kind="neighbourhood", external_id="x", name="X", geom=GEOSGeometry(BOWTIE))
    with pytest.raises(ValidationError, match="district_geom_valid"):
        district.full_clean()


def test_nan_point_asset_is_refused_by_the_database():
    dept = Department.objects.create(code="d", name="D")
    kind = AssetType.objects.create(code="t", name="T", geometry_kind="point", department=dept)
    with pytest.raises(IntegrityError, match="asset_geom_valid"), transaction.atomic():
        Asset.objects.create(asset_type=kind, external_id="n", geom=Point(float("nan"), 1, srid=26986))


def test_valid_geometry_is_stored():
    square = MultiPolygon.from_ewkt("SRID=26986;MULTIPOLYGON(((0 0,10 0,10 10,0 10,0 0)))")
    District.objects.create(kind="neighbourhood", external_id="ok", name="Ok", geom=square)
    assert District.objects.get(external_id="ok").geom.area == 100


def test_every_geometry_column_has_a_gist_index_and_the_storage_srid(settings):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_name LIKE 'registry_%%'"
        )
        columns = dict(cursor.fetchall())
        cursor.execute(
            "SELECT t.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam "
            "WHERE am.amname = 'gist' AND t.relname LIKE 'registry_%%'"
        )
        gist_tables = {row[0] for row in cursor.fetchall()}
    assert set(columns) == {"registry_asset", "registry_utilityline", "registry_utilitystructure",
                            "registry_district"}
    assert set(columns.values()) == {settings.FIELDSVC_STORAGE_SRID}
    assert gist_tables == set(columns)
