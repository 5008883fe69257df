"""Reads of the catalogue and of service requests (public listings never carry reporters' details)."""

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from django.contrib.gis.geos import Point, Polygon
from django.db import connection, connections, router
from django.db.models import Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from gis.models import Asset, AssetType, District
from gis.spatial import queries
from workorders import cached
from workorders.models import ApiKey, RequestLink, RequestNote, Service, ServiceAttribute, ServiceRequest, Survey

# Reporter details (email, phone, names, device and account ids) are deferred so a public listing
# never even loads them.
PRIVATE_FIELDS = ("email", "phone", "first_name", "last_name", "device_id", "account_id")


def service_list(*, include_inactive: bool = False) -> QuerySet[Service]:
    """Services by code, each with ``has_attributes`` (Open311 metadata: a definition to fetch)."""
    services = (
        Service.objects.select_related("group", "department")
        .annotate(has_attributes=Exists(ServiceAttribute.objects.filter(service=OuterRef("pk"))))
        .order_by("code")
    )
    return services if include_inactive else services.filter(active=True)


def catalogue_changed_at() -> dt.datetime | None:
    """When the catalogue last changed (Open311 discovery changeset)."""
    return Service.objects.aggregate(latest=Max("updated_at"))["latest"]


def service_get(*, code: str) -> Service | None:
    """An active service with its questions (from the per-process catalogue copy)."""
    return cached.catalogue().by_code.get(code)


@dataclass(frozen=True)
class DuplicateCandidate:
    """The open request a new report would duplicate."""

    pk: int
    reference: str
    detailed_status: str


@dataclass
class RequestFilter:
    """GET /requests filters, already checked (the interface turns parameters into this)."""

    ids: list[int] | None = None  # overrides every other filter (Open311)
    service_codes: list[str] | None = None
    statuses: list[str] | None = None
    start: dt.datetime | None = None  # requested_datetime >= start
    end: dt.datetime | None = None  # requested_datetime < end
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    closed_after: dt.datetime | None = None  # closed_at >= this (the residents' map: recently closed)
    box: Polygon | None = None  # storage CRS
    near: Point | None = None  # storage CRS; nearest first
    radius_m: float | None = None
    text: str | None = None  # words in the description or address (full-text, any order)


def _public(with_history: bool) -> QuerySet[ServiceRequest]:
    requests = ServiceRequest.objects.select_related("service", "department").defer(*PRIVATE_FIELDS)
    if with_history:
        requests = requests.select_related("district").prefetch_related(
            Prefetch("notes", queryset=RequestNote.objects.defer("author"))
        )
    return requests


def _where(filters: RequestFilter) -> tuple[list[str], list, str, list]:
    """The filters as SQL conditions on ``r`` (workorders_servicerequest) and an ORDER BY: newest first,
    or nearest first with ``near``. Returns (conditions, their params, order, its params)."""
    newest = "r.requested_at DESC, r.id DESC"  # request_requested_idx
    if filters.ids is not None:  # ids override every other filter (Open311)
        return ["r.id = ANY(%s)"], [filters.ids], newest, []
    conditions, params = [], []

    def add(sql: str, *values) -> None:
        conditions.append(sql)
        params.extend(values)

    if filters.service_codes:  # inactive services' requests are still listed
        add(f"r.service_id IN (SELECT id FROM {Service._meta.db_table} WHERE code = ANY(%s))", filters.service_codes)
    if filters.statuses:
        add("r.status = ANY(%s)", filters.statuses)
    if filters.start:
        add("r.requested_at >= %s", filters.start)
    if filters.end:
        add("r.requested_at < %s", filters.end)
    if filters.updated_after:
        add("r.updated_at > %s", filters.updated_after)
    if filters.updated_before:
        add("r.updated_at < %s", filters.updated_before)
    if filters.closed_after:
        add("r.closed_at >= %s", filters.closed_after)
    if filters.text:
        add(f"{TEXT_VECTOR} @@ websearch_to_tsquery('simple', %s)", filters.text)
    if filters.box is not None:
        add(*_flat(queries.sql_in_box("r.geom", filters.box.extent)))
    if filters.near is None:
        return conditions, params, newest, []
    if filters.radius_m is not None:
        add(*_flat(queries.sql_within_radius("r.geom", filters.near.x, filters.near.y, filters.radius_m)))
    order, order_params = queries.sql_nearest_first("r.geom", filters.near.x, filters.near.y)
    return conditions, params, order, order_params


def _flat(fragment: tuple[str, list]) -> tuple:
    sql, params = fragment
    return sql, *params


# The GIN index request_text_idx (workorders/models.py) is on exactly this expression.
TEXT_VECTOR = "to_tsvector('simple', COALESCE(r.description, '') || ' ' || COALESCE(r.address_string, ''))"

# What public listings read of a request, as values ready for output: datetimes already W3C text in the
# server's zone (fieldsvc_w3c, migration 0006), the point already WGS84 (no model instances, datetime or
# geometry objects: a page of a thousand rows costs little more than the query).
_WGS84_JOIN, _LON, _LAT = queries.sql_lonlat("r.geom", "wgs84")
PUBLIC_SELECT = {
    "id": "r.id", "status": "r.status", "status_notes": "r.status_notes", "description": "r.description",
    "address_string": "r.address_string", "address_id": "r.address_id", "zipcode": "r.zipcode",
    "service_id": "r.service_id", "department_id": "r.department_id", "lon": _LON, "lat": _LAT,
    "requested": "fieldsvc_w3c(r.requested_at, %s)",
    "updated": "fieldsvc_w3c(COALESCE(r.closed_at, r.updated_at), %s)",
    "expected": "fieldsvc_w3c(r.expected_at, %s)", "media_url": "r.media_urls ->> 0",
}
EXTENDED_SELECT = {  # extensions=true adds these
    "reference": "r.reference", "detailed_status": "r.detailed_status", "district_id": "r.district_id",
    "channel": "r.channel", "duplicate_of_id": "r.duplicate_of_id",
    "closed": "fieldsvc_w3c(r.closed_at, %s)", "media_urls": "r.media_urls::text",  # JSON text
    # What linking found and why routing sent it where it went (workorders/linking.py).
    "link_state": "l.state", "asset_external_id": "a.external_id", "asset_type_code": "at.code",
    "asset_distance_m": "l.asset_distance_m", "asset_outcome": "l.asset_outcome",
    "utilities": "l.utilities::text", "explanation": "l.explanation", "priority": "l.priority",
    "reclassified_from_id": "l.reclassified_from_id",
}
_EXTENDED_JOIN = (f"LEFT JOIN {RequestLink._meta.db_table} l ON l.request_id = r.id "
                  f"LEFT JOIN {Asset._meta.db_table} a ON a.id = l.asset_id "
                  f"LEFT JOIN {AssetType._meta.db_table} at ON at.id = a.asset_type_id")


def request_rows_public(*, filters: RequestFilter, offset: int = 0, limit: int = 1000,
                        extended: bool = False) -> list[dict]:
    """One page of matching requests as dicts keyed like PUBLIC_SELECT (and EXTENDED_SELECT).

    Hand-built SQL: the nearby-cases query runs on every map move, and compiling it through the ORM
    cost more than running it."""
    select = PUBLIC_SELECT | EXTENDED_SELECT if extended else PUBLIC_SELECT
    columns = ", ".join(f"{sql} AS {name}" for name, sql in select.items())
    zone_params = [timezone.get_current_timezone_name()] * columns.count("%s")  # the only params up there
    conditions, params, order, order_params = _where(filters)
    joins = f"{_WGS84_JOIN} {_EXTENDED_JOIN}" if extended else _WGS84_JOIN
    sql = (f"SELECT {columns} FROM {ServiceRequest._meta.db_table} r {joins} "
           f"WHERE {' AND '.join(conditions) or 'true'} ORDER BY {order} LIMIT %s OFFSET %s")
    with connections[router.db_for_read(ServiceRequest)].cursor() as cursor:  # nearby cases: may be the replica
        cursor.execute(sql, [*zone_params, *params, *order_params, limit, offset])
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def request_places_public(*, text: str, limit: int = 5) -> list[dict]:
    """Addresses residents gave on earlier reports that match ``text`` (its last word as a prefix, as one types),
    with where they are (WGS84), most reported first: a place search for the residents' map that needs no
    geocoder (GIN index request_text_idx, then the address alone re-checked)."""
    words = re.findall(r"\w+", text.lower())[:8]
    if not words:
        return []
    query = " & ".join([*words[:-1], f"{words[-1]}:*"])
    sql = (f"SELECT r.address_string, avg({_LON}), avg({_LAT}), count(*) AS n "
           f"FROM {ServiceRequest._meta.db_table} r {_WGS84_JOIN} "
           f"WHERE {TEXT_VECTOR} @@ to_tsquery('simple', %s) "
           "AND to_tsvector('simple', r.address_string) @@ to_tsquery('simple', %s) "
           "AND r.geom IS NOT NULL GROUP BY r.address_string ORDER BY n DESC, r.address_string LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [query, query, limit])
        return [{"address": address, "lon": lon, "lat": lat} for address, lon, lat, _ in cursor.fetchall()]


def notes_public(*, request_ids: list[int]) -> dict[int, list[dict]]:
    """Each request's history, oldest first (who wrote a note is not public)."""
    notes: dict[int, list[dict]] = {pk: [] for pk in request_ids}
    for note in (RequestNote.objects.filter(request_id__in=request_ids).order_by("created_at", "id")
                 .values("request_id", "created_at", "kind", "status", "detailed_status", "description")):
        notes[note["request_id"]].append(note)
    return notes


def district_names(*, ids: set[int]) -> dict[int, str]:
    return dict(District.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def request_get_public(*, request_id: int, with_history: bool = False) -> ServiceRequest | None:
    return _public(with_history).filter(pk=request_id).first()


def request_by_token(*, token: str) -> ServiceRequest | None:
    """None for a token that is not a UUID (tokens are): the query would be an error, not an empty answer."""
    try:
        token = uuid.UUID(token)
    except ValueError:
        return None
    return ServiceRequest.objects.only("id", "token").filter(token=token).first()


def api_key_active(*, key_sha256: str) -> ApiKey | None:
    return cached.api_key(key_sha256)


def request_duplicate_candidate(*, service: Service, point: Point, at: dt.datetime, radius_m: float,
                                window: dt.timedelta) -> DuplicateCandidate | None:
    """The nearest open, original request of this or a related service within ``radius_m`` that was
    reported within ``window`` before ``at`` (GiST index on ServiceRequest.geom)."""
    found = queries.nearest_within(
        table=ServiceRequest._meta.db_table, columns=("id", "reference", "detailed_status"),
        where="service_id = ANY(%s) AND status = 'open' AND duplicate_of_id IS NULL "
              "AND requested_at >= %s AND requested_at <= %s",
        params=[[service.pk, *cached.catalogue().related_ids.get(service.pk, [])], at - window, at],
        x=point.x, y=point.y, radius_m=radius_m,
    )
    return DuplicateCandidate(*found) if found else None


def note_list_public(*, start: dt.datetime | None, end: dt.datetime | None) -> QuerySet[RequestNote]:
    """Status steps and comments (not the initial 'submitted'), oldest first, for update feeds."""
    notes = RequestNote.objects.exclude(kind="submitted").defer("author").order_by("created_at", "id")
    if start:
        notes = notes.filter(created_at__gte=start)
    if end:
        notes = notes.filter(created_at__lt=end)
    return notes


def note_by_update_id(*, api_key: ApiKey, external_update_id: str) -> RequestNote | None:
    return RequestNote.objects.filter(api_key=api_key, external_update_id=external_update_id).first()


def request_find_public(*, number: str) -> ServiceRequest | None:
    """A request by what a resident has: its id, its reference (any case, dash optional) or an old case id."""
    number = number.strip().upper()
    if not number:
        return None
    if number.isdigit() and len(number) < 19:
        found = _public(with_history=True).filter(pk=int(number)).first()
        if found:
            return found
    compact = number.replace("-", "").replace(" ", "")
    reference = f"{compact[:4]}-{compact[4:]}" if len(compact) == 8 else number
    return _public(with_history=True).filter(Q(reference=reference) | Q(external_id=number)).first()


def survey_get(*, token: str) -> Survey | None:
    return Survey.objects.select_related("request__service").filter(token=token).first()
