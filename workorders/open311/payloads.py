"""Open311 response bodies as plain data (lists and dicts), shared by the XML and JSON renderers."""

import datetime as dt

import orjson
from django.utils import timezone

from workorders import cached
from workorders.catalogue import translated
from workorders.models import Service, ServiceRequest

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def w3c(moment: dt.datetime | None) -> str | None:
    """W3C-DTF with the server's UTC offset, to the second: 2026-05-01T14:30:00-04:00."""
    if moment is None:
        return None
    return timezone.localtime(moment).isoformat(timespec="seconds")


def discovery(*, url: str, changeset: dt.datetime, contact: str, key_service: str) -> dict:
    stamp = changeset.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "changeset": stamp,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": stamp,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def service_item(service: Service, locale: str) -> dict:
    group = service.group
    return {
        "service_code": service.code,
        "service_name": translated(service.i18n, locale, "name", service.name),
        "description": translated(service.i18n, locale, "description", service.description),
        "metadata": service.has_attributes,
        "type": service.service_type,
        "keywords": ", ".join(translated(service.i18n, locale, "keywords", service.keywords)),
        "group": translated(group.i18n, locale, "name", group.name) if group else "",
    }


def service_definition(service: Service, locale: str) -> dict:
    attributes = []
    for attribute in service.attributes.all():
        texts = attribute.i18n.get(locale, {}) if locale != "en" else {}
        names = texts.get("values") or {}
        item = {
            "variable": attribute.variable,
            "code": attribute.code,
            "datatype": attribute.datatype,
            "required": attribute.required,
            "datatype_description": texts.get("datatype_description") or attribute.datatype_description,
            "order": attribute.order,
            "description": texts.get("description") or attribute.description,
        }
        if attribute.datatype in ("singlevaluelist", "multivaluelist"):
            item["values"] = [
                {"key": str(v["key"]), "name": names.get(str(v["key"])) or v["name"]} for v in attribute.values
            ]
        attributes.append(item)
    return {"service_code": service.code, "attributes": attributes}


def created_item(request: ServiceRequest, locale: str) -> dict:
    """POST response: the id, or the token for a batch service (never both)."""
    service = request.service
    item = {"token": str(request.token)} if request.token else {"service_request_id": str(request.pk)}
    item["service_notice"] = translated(service.i18n, locale, "notice", service.notice) or None
    item["account_id"] = request.account_id or None
    return item


def request_items(rows: list[dict], *, locale: str, extensions: bool = False,
                  notes: dict[int, list[dict]] | None = None, districts: dict[int, str] | None = None) -> list[dict]:
    """GET /requests items from selectors.request_rows_public: every one of the 17 spec fields present,
    null where unknown. ``extensions`` adds ``extended_attributes`` and the ``notes`` history."""
    catalogue = cached.catalogue()
    texts: dict[int, tuple[str, str, str | None]] = {}  # service id -> (code, name, notice) in this locale
    items = []
    for row in rows:
        service_id = row["service_id"]
        if service_id not in texts:
            service = catalogue.by_id[service_id]
            texts[service_id] = (service.code, translated(service.i18n, locale, "name", service.name),
                                 translated(service.i18n, locale, "notice", service.notice) or None)
        code, name, notice = texts[service_id]
        department = catalogue.departments[row["department_id"]]
        lon = row["lon"]
        item = {
            "service_request_id": str(row["id"]),
            "status": row["status"],
            "status_notes": row["status_notes"] or None,
            "service_name": name,
            "service_code": code,
            "description": row["description"] or None,
            "agency_responsible": department.name,
            "service_notice": notice,
            "requested_datetime": row["requested"],
            "updated_datetime": row["updated"],
            "expected_datetime": row["expected"],
            "address": row["address_string"] or None,
            "address_id": row["address_id"] or None,
            "zipcode": row["zipcode"] or None,
            "lat": None if lon is None else round(row["lat"], 7),
            "long": None if lon is None else round(lon, 7),
            "media_url": row["media_url"],
        }
        if extensions:
            item["extended_attributes"] = extended_attributes(row, department, (districts or {}))
            item["notes"] = [note_item(note) for note in (notes or {}).get(row["id"], [])]
        items.append(item)
    return items


def extended_attributes(row: dict, department, districts: dict[int, str]) -> dict:
    """The fine state and what the city knows about the case; never who reported it."""
    parent = row["duplicate_of_id"]
    asset_id = row["asset_external_id"]
    reclassified = row["reclassified_from_id"]
    return {
        "reference": row["reference"],
        "detailed_status": row["detailed_status"],
        "department": department.code,
        "neighbourhood": districts.get(row["district_id"]),
        "channel": row["channel"],
        "duplicate": parent is not None,
        "parent_service_request_id": str(parent) if parent else None,
        "closed_datetime": row["closed"],
        "media_urls": orjson.loads(row["media_urls"]),
        # CitySDK's names for the asset the report is about.
        "service_object_id": asset_id,
        "service_object_type": row["asset_type_code"],
        "asset_ids": [asset_id] if asset_id else [],
        "asset_distance_m": _metres(row["asset_distance_m"]),
        "asset_match": row["asset_outcome"] or None,
        "utilities": [_utility(u) for u in orjson.loads(row["utilities"] or "[]")],
        "routing": {
            "state": row["link_state"],
            "explanation": row["explanation"] or None,
            "priority": row["priority"],
            "reclassified_from": cached.catalogue().by_id[reclassified].code if reclassified else None,
        },
    }


def _metres(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _utility(hit: dict) -> dict:
    """A utility beneath the report, as the public sees it (identifiers and what a crew needs)."""
    return {"id": hit["external_id"], "feature": hit["feature"], "kind": hit["kind"], "type": hit["type"],
            "distance_m": _metres(hit["distance_m"]), "along_m": _metres(hit["along_m"]),
            "depth_m": hit["depth_m"], "material": hit["material"] or None, "diameter_mm": hit["diameter_mm"],
            "install_year": hit["install_year"]}


def note_item(note: dict) -> dict:
    return {
        "datetime": w3c(note["created_at"]),
        "type": note["kind"],
        "status": note["status"],
        "detailed_status": note["detailed_status"],
        "description": note["description"] or None,
    }


def token_item(token: str, request: ServiceRequest | None) -> dict:
    return {"service_request_id": str(request.pk) if request else None, "token": token}
