"""WFS-T: reads a Transaction (WFS 1.0.0 as QGIS sends it, 1.1.0, 2.0) into edits and writes the response.

QGIS edits through WFS 1.0.0 transactions even on a 2.0 connection, and may put a 2.0 URN srsName on
them (QGIS issue #47254): in a 1.0/1.1 transaction coordinates are always read x/y; only a 2.0
transaction with a URN srsName follows the CRS's official axis order (lat/lon for EPSG:4326).
Features are named by the ids GetFeature gives them (``asset_streetlight.12``) or by bare numbers.
"""

import re
from dataclasses import dataclass

import shapely
from django.contrib.gis.gdal import GDALException, OGRGeometry
from lxml import etree

from gis import crs
from gis.editing import Edit, EditRejected, EditResult, EditTarget
from gis.models import EditAction
from gis.wfs.types import XML_NAMESPACE

WFS_1 = "http://www.opengis.net/wfs"
WFS_2 = "http://www.opengis.net/wfs/2.0"
OGC = "http://www.opengis.net/ogc"
FES = "http://www.opengis.net/fes/2.0"
GML_NAMESPACES = ("http://www.opengis.net/gml", "http://www.opengis.net/gml/3.2")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
_EPSG = re.compile(r"(?:EPSG:|epsg\.xml#|crs:EPSG:[\d.]*:|/def/crs/EPSG/[\d.]+/)(\d+)$", re.IGNORECASE)
_COORDINATE_ELEMENTS = frozenset({"coordinates", "pos", "posList", "X", "Y", "Z"})
_NUMBERS = re.compile(r"\s*[-+0-9.eE]+(?:[\s,]+[-+0-9.eE]+)*\s*")
_ID_ELEMENTS = {"FeatureId": "fid", "ResourceId": "rid", "GmlObjectId": None}


@dataclass
class ParsedTransaction:
    version: str
    edits: list[Edit]


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def is_transaction(body: bytes) -> bool:
    """Cheap test on the root element, before the full parse (other POSTs go to django-gisserver)."""
    head = body[:2048].decode("utf-8", "replace")
    match = re.search(r"<(?:[\w.-]+:)?([\w.-]+)[\s>/]", re.sub(r"<\?.*?\?>|<!--.*?-->", "", head, flags=re.S))
    return bool(match) and match.group(1) == "Transaction"


def parse_transaction(body: bytes, *, targets: dict[str, EditTarget]) -> ParsedTransaction:
    """The edits a Transaction asks for, in document order; EditRejected for anything we cannot do."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EditRejected(f"the transaction is not well-formed XML: {exc}", code="OperationParsingFailed") from exc
    if _local(root.tag) != "Transaction" or etree.QName(root).namespace not in (WFS_1, WFS_2):
        raise EditRejected("the root element must be a wfs:Transaction", code="OperationParsingFailed")
    version = root.get("version") or ("2.0.0" if etree.QName(root).namespace == WFS_2 else "1.0.0")
    if version not in ("1.0.0", "1.1.0", "2.0.0", "2.0.2"):
        raise EditRejected(f"WFS version {version} is not supported for transactions", locator="version",
                           code="InvalidParameterValue")
    authority_urns = version.startswith("2.")
    edits: list[Edit] = []
    for action in root:
        name = _local(action.tag)
        if not name:
            continue
        handle = action.get("handle", "")
        if name == "Insert":
            edits += _inserts(action, targets, handle, authority_urns)
        elif name == "Update":
            edits.append(_update(action, targets, handle, authority_urns))
        elif name == "Delete":
            target = _target(action, targets, handle)
            edits.append(Edit(EditAction.DELETE, target, ids=_filter_ids(action, target, handle), handle=handle))
        else:  # Native, Replace, LockId...
            raise EditRejected(f"transaction action {name} is not supported (Insert, Update and Delete are)",
                               locator=handle or name, code="OperationNotSupported")
    if not edits:
        raise EditRejected("the transaction has no Insert, Update or Delete", code="MissingParameterValue")
    return ParsedTransaction(version=version, edits=edits)


def _target(action, targets: dict[str, EditTarget], handle: str) -> EditTarget:
    type_name = action.get("typeName") or action.get("typename") or ""
    return _target_named(type_name.rpartition(":")[2], targets, handle or type_name)


def _target_named(name: str, targets: dict[str, EditTarget], locator: str) -> EditTarget:
    target = targets.get(name)
    if target is None:
        raise EditRejected(f"feature type {name!r} cannot be edited (editable: {', '.join(sorted(targets))})",
                           locator=locator or "typeName")
    return target


def _inserts(action, targets, handle: str, authority_urns: bool) -> list[Edit]:
    edits = []
    default_srs = action.get("srsName")
    for feature in action:
        name = _local(feature.tag)
        if not name:
            continue
        namespace = etree.QName(feature).namespace
        if namespace not in (None, XML_NAMESPACE):
            raise EditRejected(f"unknown feature type {{{namespace}}}{name}", locator=handle or name)
        edit = Edit(EditAction.INSERT, _target_named(name, targets, handle), handle=handle)
        for prop in feature:
            prop_name = _local(prop.tag)
            if not prop_name or etree.QName(prop).namespace in GML_NAMESPACES:
                continue  # gml:boundedBy, gml:name...
            geometry = _geometry_child(prop)
            if prop_name == "geom" or geometry is not None:
                edit.geometry = _geometry(geometry, default_srs, authority_urns, handle or name)
                edit.geometry_given = True
            else:
                edit.values[prop_name] = _nil_or_text(prop)
        edits.append(edit)
    if not edits:
        raise EditRejected("an Insert without features", locator=handle or "Insert", code="MissingParameterValue")
    return edits


def _update(action, targets, handle: str, authority_urns: bool) -> Edit:
    target = _target(action, targets, handle)
    edit = Edit(EditAction.UPDATE, target, handle=handle, ids=_filter_ids(action, target, handle))
    for prop in action:
        if _local(prop.tag) != "Property":
            continue
        name_el = next((c for c in prop if _local(c.tag) in ("Name", "ValueReference")), None)
        if name_el is None or not (name_el.text or "").strip():
            raise EditRejected("an Update Property without a Name", locator=handle or target.feature_type,
                               code="MissingParameterValue")
        prop_name = name_el.text.strip().rpartition(":")[2].rpartition("/")[2]
        value_el = next((c for c in prop if _local(c.tag) == "Value"), None)
        geometry = _geometry_child(value_el) if value_el is not None else None
        if prop_name == "geom":
            edit.geometry = (_geometry(geometry, action.get("srsName"), authority_urns, handle or prop_name)
                             if geometry is not None else None)
            edit.geometry_given = True
        else:
            edit.values[prop_name] = None if value_el is None else _nil_or_text(value_el)
    return edit


def _filter_ids(action, target: EditTarget, handle: str) -> list[int]:
    filter_el = next((c for c in action if _local(c.tag) == "Filter"), None)
    if filter_el is None:
        raise EditRejected(f"{_local(action.tag)} needs a Filter naming the features (FeatureId or ResourceId)",
                           locator=handle or target.feature_type, code="MissingParameterValue")
    ids = []
    for element in filter_el:
        kind = _local(element.tag)
        if kind not in _ID_ELEMENTS:
            raise EditRejected(f"only FeatureId/ResourceId filters are supported in transactions, not {kind}",
                               locator=handle or target.feature_type, code="OperationNotSupported")
        attribute = _ID_ELEMENTS[kind]
        value = element.get(attribute) if attribute else next(
            (v for k, v in element.attrib.items() if _local(k) == "id"), None)
        ids.append(_feature_pk(value or "", target, handle))
    if not ids:
        raise EditRejected("the Filter names no feature", locator=handle or target.feature_type,
                           code="MissingParameterValue")
    return list(dict.fromkeys(ids))


def _feature_pk(feature_id: str, target: EditTarget, handle: str) -> int:
    prefix, dot, number = feature_id.strip().rpartition(".")
    if (dot and prefix.rpartition(":")[2] != target.feature_type) or not number.isdigit():
        raise EditRejected(f"{feature_id!r} is not an id of a {target.feature_type} feature "
                           f"(expected {target.feature_type}.<number>)", locator=handle or feature_id)
    return int(number)


def _nil_or_text(element) -> str | None:
    if element.get("{http://www.w3.org/2001/XMLSchema-instance}nil") in ("true", "1"):
        return None
    return element.text


def _geometry_child(element):
    return next((c for c in element if etree.QName(c).namespace in GML_NAMESPACES), None)


def _geometry(element, default_srs: str | None, authority_urns: bool, locator: str) -> shapely.Geometry:
    """A GML geometry (GML 2, 3.1 or 3.2) in the storage CRS."""
    if element is None:
        raise EditRejected("a geometry property without a GML geometry", locator=locator)
    srs_name = element.get("srsName") or default_srs
    for part in element.iter():
        if _local(part.tag) in _COORDINATE_ELEMENTS and not _NUMBERS.fullmatch(part.text or ""):
            # OGR reads "not numbers" as (0, 0); say what is wrong instead
            raise EditRejected(f"unreadable GML geometry: {_local(part.tag)} {(part.text or '')[:40]!r} "
                               "holds something other than numbers", locator=locator)
    try:
        ogr = OGRGeometry.from_gml(etree.tostring(element).decode())
        geom = shapely.from_wkb(bytes(ogr.wkb))
    except (GDALException, shapely.errors.GEOSException, ValueError) as exc:
        raise EditRejected(f"unreadable GML geometry: {exc}", locator=locator) from exc
    if geom.has_z:
        geom = shapely.force_2d(geom)
    srid = crs.storage_srid()
    authority_order = False
    if srs_name:
        match = _EPSG.search(srs_name.strip())
        if match is None:
            raise EditRejected(f"unknown srsName {srs_name!r} (use EPSG:<code> or urn:ogc:def:crs:EPSG::<code>)",
                               locator=locator)
        srid = int(match.group(1))
        authority_order = authority_urns and not srs_name.upper().startswith("EPSG:") and "epsg.xml#" not in srs_name
    try:
        if srid != crs.storage_srid() or authority_order:
            geom = crs.geometry_to_storage(geom, srid=srid, authority_order=authority_order)
    except crs.UnknownCRSError as exc:
        raise EditRejected(str(exc), locator=locator) from exc
    return geom


def response(parsed: ParsedTransaction, result: EditResult) -> bytes:
    """TransactionResponse in the request's version: the inserted features' ids, and totals."""
    if parsed.version == "1.0.0":
        root = etree.Element(f"{{{WFS_1}}}WFS_TransactionResponse", nsmap={"wfs": WFS_1, "ogc": OGC},
                             version="1.0.0")
        for handle, ids in _inserted_by_handle(result):
            insert = etree.SubElement(root, f"{{{WFS_1}}}InsertResult", **({"handle": handle} if handle else {}))
            for feature_id in ids:
                etree.SubElement(insert, f"{{{OGC}}}FeatureId", fid=feature_id)
        status = etree.SubElement(etree.SubElement(root, f"{{{WFS_1}}}TransactionResult"), f"{{{WFS_1}}}Status")
        etree.SubElement(status, f"{{{WFS_1}}}SUCCESS")
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    two = parsed.version.startswith("2.")
    wfs = WFS_2 if two else WFS_1
    root = etree.Element(f"{{{wfs}}}TransactionResponse", nsmap={"wfs": wfs, "fes" if two else "ogc": FES if two
                         else OGC}, version="2.0.0" if two else "1.1.0")
    summary = etree.SubElement(root, f"{{{wfs}}}TransactionSummary")
    totals = [("totalInserted", len(result.inserted)), ("totalUpdated", result.updated)]
    totals += [("totalReplaced", 0)] if two else []
    for name, value in [*totals, ("totalDeleted", result.deleted)]:
        etree.SubElement(summary, f"{{{wfs}}}{name}").text = str(value)
    if result.inserted:
        inserts = etree.SubElement(root, f"{{{wfs}}}InsertResults")
        for target, pk, handle in result.inserted:
            feature = etree.SubElement(inserts, f"{{{wfs}}}Feature", **({"handle": handle} if handle else {}))
            feature_id = f"{target.feature_type}.{pk}"
            if two:
                etree.SubElement(feature, f"{{{FES}}}ResourceId", rid=feature_id)
            else:
                etree.SubElement(feature, f"{{{OGC}}}FeatureId", fid=feature_id)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _inserted_by_handle(result: EditResult) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for target, pk, handle in result.inserted:
        groups.setdefault(handle, []).append(f"{target.feature_type}.{pk}")
    return list(groups.items())
