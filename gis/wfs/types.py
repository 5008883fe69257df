"""The WFS feature types: one per asset type, utility lines and structures, neighbourhoods, and those other apps add.

Other apps register a provider (``register``) returning their feature types for a request, so gis
imports nothing from them; a provider decides from ``request.user`` what the caller may see.
"""

from collections.abc import Callable

from django.http import HttpRequest
from gisserver.crs import CRS, CRS84, WEB_MERCATOR, WGS84
from gisserver.features import FeatureField, FeatureType
from gisserver.types import XsdTypes

from gis import crs
from gis.models import Asset, AssetType, District, UtilityLine, UtilityStructure

XML_NAMESPACE = "http://fieldsvc.org/wfs"
XML_PREFIX = "fieldsvc"

ASSET_FIELDS = ["id", "external_id", "status", "condition", "install_date", "created_at", "updated_at"]
# Assets share one geometry column of any type; each asset type says which it holds, so clients (GDAL,
# QGIS) know the layer's geometry type from DescribeFeatureType without reading features first. Lines
# stay gml:GeometryPropertyType: GML 3.2 has no LineStringPropertyType, and GDAL turns every feature
# of a gml:CurvePropertyType layer into a CompoundCurve, which most tools (GEOS, shapefiles) cannot read.
ASSET_GEOMETRY_TYPES = {"point": XsdTypes.gmlPointPropertyType}
UTILITY_LINE_FIELDS = ["id", "external_id", "kind", "line_type", "material", "diameter_mm", "depth_m",
                       "install_year", "owner", "status", "updated_at"]
UTILITY_STRUCTURE_FIELDS = ["id", "external_id", "kind", "structure_type", "depth_m", "owner", "status",
                            "updated_at", "geom"]
NEIGHBOURHOOD_FIELDS = ["id", "external_id", "name", "city", "population", "geom"]

Provider = Callable[[HttpRequest], list[FeatureType]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    """Add a provider of feature types (called once per request, in registration order)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def storage_crs() -> CRS:
    return CRS.from_srid(crs.storage_srid())


def output_crs() -> list[CRS]:
    """The other CRSs a client may ask for in ``srsName``: WGS84 (both axis orders) and Web Mercator."""
    return [WGS84, CRS84, WEB_MERCATOR]


class TypedGeometryField(FeatureField):
    """A geometry field whose XSD type is given rather than read from the model field."""

    def __init__(self, name: str, xsd_type, **kwargs):
        super().__init__(name, **kwargs)
        self.fixed_xsd_type = xsd_type

    def _get_xsd_type(self):
        return self.fixed_xsd_type


def asset_fields(geometry_kind: str) -> list:
    xsd_type = ASSET_GEOMETRY_TYPES.get(geometry_kind, XsdTypes.gmlGeometryPropertyType)
    return [*ASSET_FIELDS, TypedGeometryField("geom", xsd_type)]


def asset_type_name(code: str) -> str:
    """``streetlight`` -> ``asset_streetlight``; hyphens become underscores so GDAL/QGIS layer names stay plain."""
    return "asset_" + code.replace("-", "_")


def feature_type(queryset, *, name: str, title: str, fields: list, abstract: str = "", **extra) -> FeatureType:
    return FeatureType(queryset, name=name, title=title, abstract=abstract, fields=fields,
                       crs=storage_crs(), other_crs=output_crs(), show_name_field=False, **extra)


def registry_feature_types(request: HttpRequest) -> list[FeatureType]:
    """Assets per type, utilities and neighbourhoods: readable by anyone, as the tiles show them."""
    types = [
        feature_type(Asset.objects.filter(asset_type_id=kind.id).order_by("id"),
                     name=asset_type_name(kind.code), title=kind.name,
                     abstract=kind.description or f"{kind.name} ({kind.get_geometry_kind_display()})",
                     fields=asset_fields(kind.geometry_kind))
        for kind in AssetType.objects.order_by("code")
    ]
    types += [
        feature_type(UtilityLine.objects.order_by("id"), name="utility_line", title="Utility lines",
                     abstract="Underground segments: mains, laterals, services, culverts.",
                     fields=[*UTILITY_LINE_FIELDS, TypedGeometryField("geom", XsdTypes.gmlGeometryPropertyType)]),
        feature_type(UtilityStructure.objects.order_by("id"), name="utility_structure", title="Utility structures",
                     abstract="Manholes, valves, catch basins, inlets and outfalls.",
                     fields=UTILITY_STRUCTURE_FIELDS),
        feature_type(District.objects.filter(kind="neighbourhood").order_by("id"), name="neighbourhood",
                     title="Neighbourhoods", fields=NEIGHBOURHOOD_FIELDS),
    ]
    return types


register(registry_feature_types)


def feature_types_for(request: HttpRequest) -> list[FeatureType]:
    return [ft for provider in _providers for ft in provider(request)]
