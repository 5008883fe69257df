"""Reads of the catalogue and of service requests (public listings never carry reporters' details)."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.gis.geos import Point, Polygon
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Exists, Max, OuterRef, Prefetch, Q, QuerySet

from gis.models import District
from gis.spatial import queries
from workorders import cached
from workorders.models import ApiKey, RequestNote, Service, ServiceAttribute, ServiceRequest, Survey

# Same expression as the GIN index request_text_idx (workorders/models.py).
TEXT_SEARCH = SearchVector("description", "address_string", config="simple")

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


def _filtered(requests: QuerySet, filters: RequestFilter) -> QuerySet:
    """The filters applied, newest first (nearest first with ``near``)."""
    if filters.ids is not None:
        return requests.filter(pk__in=filters.ids).order_by("-requested_at", "-id")
    if filters.service_codes:
        requests = requests.filter(service__code__in=filters.service_codes)
    if filters.statuses:
        requests = requests.filter(status__in=filters.statuses)
    if filters.start:
        requests = requests.filter(requested_at__gte=filters.start)
    if filters.end:
        requests = requests.filter(requested_at__lt=filters.end)
    if filters.updated_after:
        requests = requests.filter(updated_at__gt=filters.updated_after)
    if filters.updated_before:
        requests = requests.filter(updated_at__lt=filters.updated_before)
    if filters.text:
        requests = requests.annotate(search=TEXT_SEARCH).filter(
            search=SearchQuery(filters.text, config="simple", search_type="websearch")
        )
    if filters.box is not None:
        requests = queries.in_box(requests, filters.box)
    if filters.near is not None:
        if filters.radius_m is not None:
            requests = queries.within_radius(requests, filters.near, filters.radius_m)
        return queries.nearest_first(requests, filters.near)
    return requests.order_by("-requested_at", "-id")


# What public listings read of a request, as plain values: no model instances, no geometry objects.
PUBLIC_COLUMNS = ("id", "reference", "status", "detailed_status", "status_notes", "description", "address_string",
                  "address_id", "zipcode", "requested_at", "updated_at", "closed_at", "expected_at", "media_urls",
                  "service_id", "department_id", "district_id", "channel", "duplicate_of_id")


def request_rows_public(*, filters: RequestFilter, offset: int = 0, limit: int = 1000) -> list[dict]:
    """One page of matching requests as dicts of PUBLIC_COLUMNS plus storage-CRS ``x`` and ``y``."""
    rows = queries.with_xy(_filtered(ServiceRequest.objects.all(), filters))
    return list(rows.values(*PUBLIC_COLUMNS, "x", "y")[offset:offset + limit])


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
