"""Reads from the spatial registry."""

from django.db.models import Count, QuerySet

from gis.models import Asset, AssetType, District, ImportRun, UtilityLine, UtilityStructure


def asset_type_list_with_counts() -> QuerySet[AssetType]:
    return AssetType.objects.select_related("department").annotate(asset_count=Count("assets"))


def registry_counts() -> dict[str, int]:
    return {
        "assets": Asset.objects.count(),
        "utility_lines": UtilityLine.objects.count(),
        "utility_structures": UtilityStructure.objects.count(),
        "districts": District.objects.count(),
    }


def import_run_latest_succeeded(*, fingerprint: str) -> ImportRun | None:
    return (
        ImportRun.objects.filter(fingerprint=fingerprint, status="succeeded")
        .order_by("-finished_at")
        .first()
    )
