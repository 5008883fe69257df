"""django-gisserver 2.5 adjusted for GDAL 3.6 (Debian 12), the client GIS staff script against.

- GDAL sends ``-spat`` as a BBOX filter whose gml:Envelope has no srsName; FES 2.0 lets a server assume
  the feature type's CRS then, but django-gisserver refuses it with a 400.
- GDAL's schema reader does not know xs:nonNegativeInteger: one such property (a pipe's diameter) makes
  it ignore DescribeFeatureType, read a page of features to guess the layer instead, and then filter
  ``-spat`` boxes on its own side after downloading everything. Positive integers are declared xs:integer.
"""

from xml.etree.ElementTree import tostring

from django.contrib.gis.geos import GEOSGeometry
from django.db import models
from gisserver import features
from gisserver.parsers.gml.geometries import GEOSGMLGeometry
from gisserver.types import XsdTypes

_from_xml = GEOSGMLGeometry.from_xml.__func__


def _from_xml_default_crs(cls, element):
    if "srsName" in element.attrib:
        return _from_xml(cls, element)
    return cls(srs=None, geos_data=GEOSGeometry.from_gml(tostring(element)))  # the query applies the type's CRS


if not getattr(GEOSGMLGeometry.from_xml, "fieldsvc_default_crs", False):
    _from_xml_default_crs.fieldsvc_default_crs = True
    GEOSGMLGeometry.from_xml = classmethod(_from_xml_default_crs)

for _positive in (models.PositiveIntegerField, models.PositiveSmallIntegerField, models.PositiveBigIntegerField):
    features.XSD_TYPES[_positive] = XsdTypes.integer
