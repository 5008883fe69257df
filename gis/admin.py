"""Django admin for the registry: map widgets, filters and search for GIS clerks."""

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.db.models import Count

from gis.models import (
    Asset,
    AssetType,
    Department,
    District,
    EditRecord,
    ImportRun,
    UtilityLine,
    UtilityStructure,
)


class MapAdmin(GISModelAdmin):
    """Editable map (OpenLayers) centred on the data, in the storage CRS behind the scenes."""

    gis_widget_kwargs = {"attrs": {"default_lon": -71.09, "default_lat": 42.36, "default_zoom": 13}}
    readonly_fields = ("created_at", "updated_at")
    list_per_page = 50
    show_full_result_count = False  # counting 100k+ filtered rows on every page is wasted work


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "email", "phone")
    search_fields = ("name", "code")


@admin.register(AssetType)
class AssetTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "geometry_kind", "department", "asset_count")
    list_filter = ("geometry_kind", "department")
    search_fields = ("name", "code")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(asset_count=Count("assets"))

    @admin.display(ordering="asset_count", description="assets")
    def asset_count(self, obj):
        return obj.asset_count


@admin.register(Asset)
class AssetAdmin(MapAdmin):
    list_display = ("external_id", "asset_type", "status", "condition", "install_date", "updated_at")
    list_filter = ("asset_type__department", "asset_type", "status")
    search_fields = ("external_id",)
    list_select_related = ("asset_type",)
    fields = ("asset_type", "external_id", "status", "condition", "install_date", "geom", "attributes",
              "created_at", "updated_at")


@admin.register(UtilityLine)
class UtilityLineAdmin(MapAdmin):
    list_display = ("external_id", "kind", "line_type", "material", "diameter_mm", "depth_m", "install_year",
                    "department")
    list_filter = ("kind", "line_type", "department", "status")
    search_fields = ("external_id", "material", "owner")
    list_select_related = ("department",)


@admin.register(UtilityStructure)
class UtilityStructureAdmin(MapAdmin):
    list_display = ("external_id", "kind", "structure_type", "depth_m", "department", "status")
    list_filter = ("kind", "structure_type", "department", "status")
    search_fields = ("external_id", "owner")
    list_select_related = ("department",)


@admin.register(District)
class DistrictAdmin(MapAdmin):
    list_display = ("name", "city", "kind", "population", "external_id")
    list_filter = ("city", "kind")
    search_fields = ("name", "external_id")


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Read-only history of imports: what each file did, and every rejected row with its reason."""

    list_display = ("source_name", "target", "status", "created", "updated", "unchanged", "rejected",
                    "queued_at", "finished_at")
    list_filter = ("status", "target")
    search_fields = ("source_name",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EditRecord)
class EditRecordAdmin(admin.ModelAdmin):
    """The audit trail of WFS-T edits: read-only."""

    list_display = ("at", "username", "action", "feature_type", "object_id", "handle", "transaction_id")
    list_filter = ("action", "feature_type", "via")
    search_fields = ("username", "feature_type", "=object_id", "=transaction_id")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in EditRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
