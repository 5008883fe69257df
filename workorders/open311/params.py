"""Open311 parameters turned into checked values; anything unusable is an Open311Error (400)."""

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point, Polygon
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.http import QueryDict
from django.utils import timezone

from gis import crs
from workorders.catalogue import AnswerInvalid, description_check, locale_pick
from workorders.models import Channel, RequestStatus
from workorders.open311.render import Open311Error
from workorders.selectors import RequestFilter
from workorders.services import RequestInput

MAX_RADIUS_M = 50_000
MAX_MEDIA_URLS = 10
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_email = EmailValidator()
_url = URLValidator(schemes=["http", "https"])


def bad(description: str) -> Open311Error:
    return Open311Error(400, description)


def value(params: QueryDict, name: str) -> str:
    """A parameter's value; empty means absent (Open311: an empty optional parameter is ignored)."""
    return (params.get(name) or "").strip()


def _number(params: QueryDict, name: str) -> float | None:
    text = value(params, name)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise bad(f"{name} must be a number, not {text[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise bad(f"{name} must be a finite number")
    return number


def datetime_param(params: QueryDict, name: str) -> dt.datetime | None:
    text = value(params, name)
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+", 1) if "T" in text
                                           else text)
    except ValueError:
        raise bad(f"{name} must be a W3C date-time like 2026-05-01T00:00:00Z, not {text[:40]!r}") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _list(params: QueryDict, name: str) -> list[str]:
    return [part.strip() for part in value(params, name).split(",") if part.strip()]


def _positive_int(params: QueryDict, name: str, default: int) -> int:
    text = value(params, name)
    if not text:
        return default
    if not text.isdigit() or len(text) > 9:
        raise bad(f"{name} must be a whole number below 10^9, not {text[:40]!r}")
    return int(text)


@dataclass
class Page:
    number: int
    size: int


def page(params: QueryDict) -> Page:
    """page is 1-based (0 is taken as 1); page_size is capped at FIELDSVC_OPEN311_MAX_PAGE_SIZE."""
    limit = settings.FIELDSVC_OPEN311_MAX_PAGE_SIZE
    size = _positive_int(params, "page_size", limit)
    if size == 0:
        raise bad("page_size must be at least 1")
    return Page(number=max(_positive_int(params, "page", 1), 1), size=min(size, limit))


def _storage_point(lon: float, lat: float, what: str) -> Point:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad(f"{what}: lat must be within -90..90 and long within -180..180")
    x, y = crs.storage_point(lon, lat)
    return Point(x, y, srid=crs.storage_srid())


def _bbox(params: QueryDict) -> Polygon | None:
    parts = _list(params, "bbox")
    if not parts:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    except ValueError:
        raise bad("bbox must be min_long,min_lat,max_long,max_lat in WGS84 degrees") from None
    if not (min_lon < max_lon and min_lat < max_lat):
        raise bad("bbox: the minimums must be smaller than the maximums")
    corners = [_storage_point(lon, lat, "bbox") for lon in (min_lon, max_lon) for lat in (min_lat, max_lat)]
    xs, ys = [c.x for c in corners], [c.y for c in corners]
    return Polygon.from_bbox((min(xs), min(ys), max(xs), max(ys)))


def date_window(params: QueryDict, *, default: bool = True) -> tuple[dt.datetime | None, dt.datetime | None]:
    """start_date/end_date, at most FIELDSVC_OPEN311_WINDOW_DAYS apart; one given, the other follows;
    neither given: the last window (the spec's default), unless ``default`` is False."""
    start, end = datetime_param(params, "start_date"), datetime_param(params, "end_date")
    window = dt.timedelta(days=settings.FIELDSVC_OPEN311_WINDOW_DAYS)
    if start and end and end - start > window:
        raise bad(f"start_date to end_date may span at most {window.days} days")
    if start and end and end <= start:
        raise bad("end_date must be after start_date")
    if start and not end:
        return start, start + window
    if end and not start:
        return end - window, end
    if not start and default:
        return timezone.now() - window, None
    return start, end


def request_filter(params: QueryDict) -> RequestFilter:
    """GET /requests parameters (with the extensions) as a RequestFilter; the 90-day rule applied."""
    ids = _list(params, "service_request_id")
    if ids:
        if not all(i.isdigit() and len(i) <= 18 for i in ids):
            raise bad("service_request_id must be a comma-separated list of request ids")
        return RequestFilter(ids=[int(i) for i in ids])
    statuses = [s.lower() for s in _list(params, "status")]
    unknown = [s for s in statuses if s not in RequestStatus.values]
    if unknown:
        raise bad(f"status must be open, closed or both, not {unknown[0][:20]!r}")
    updated_after, updated_before = datetime_param(params, "updated_after"), datetime_param(params, "updated_before")
    start, end = date_window(params, default=not (updated_after or updated_before))
    text = value(params, "q")
    if len(text) > 200:
        raise bad("q is longer than 200 characters")
    lat, long, radius_m = _number(params, "lat"), _number(params, "long"), _number(params, "radius")
    if (lat is None) != (long is None):
        raise bad("lat and long go together")
    if radius_m is not None and (lat is None or not 0 < radius_m <= MAX_RADIUS_M):
        raise bad(f"radius needs lat and long and is metres, more than 0 and at most {MAX_RADIUS_M}")
    return RequestFilter(
        service_codes=_list(params, "service_code") or None,
        statuses=statuses or None,
        start=start,
        end=end,
        updated_after=updated_after,
        updated_before=updated_before,
        box=_bbox(params),
        near=_storage_point(long, lat, "lat/long") if lat is not None else None,
        radius_m=radius_m,
        text=text or None,
    )


def _attributes(form: QueryDict) -> dict[str, list[str]]:
    """attribute[CODE]=v and attribute[CODE][]=v1&attribute[CODE][]=v2 (multivaluelist)."""
    answers: dict[str, list[str]] = {}
    for key in form:
        match = _ATTRIBUTE_KEY.match(key)
        if match:
            answers.setdefault(match.group(1), []).extend(form.getlist(key))
    return answers


def media_urls(form: QueryDict) -> list[str]:
    urls = [u.strip() for key in ("media_url", "media_url[]") for u in form.getlist(key) if u.strip()]
    if len(urls) > MAX_MEDIA_URLS:
        raise bad(f"at most {MAX_MEDIA_URLS} media_url values")
    for url in urls:
        try:
            _url(url)
        except ValidationError:
            raise bad(f"media_url must be an http(s) URL, not {url[:60]!r}") from None
    return urls


def plain_text(text: str, name: str) -> str:
    try:
        return description_check(text)
    except AnswerInvalid as exc:
        raise bad(str(exc).replace("description", name, 1)) from None


def _limited(form: QueryDict, name: str, limit: int) -> str:
    text = value(form, name)
    if len(text) > limit:
        raise bad(f"{name} is longer than {limit} characters")
    return text


def uploads(files) -> list:
    """Photo files: Open311 v2.1 'media' (or media[]), and FixMyStreet's photo1, photo2, …"""
    names = ["media", "media[]", *(f"photo{n}" for n in range(1, 10))]
    return [upload for name in names for upload in files.getlist(name)]


def request_input(form: QueryDict, *, idempotency_key: str = "", accept_language: str = "") -> RequestInput:
    """POST /requests form fields as a RequestInput (location rules are the intake service's).

    The reporter's language (for the messages they will get) is ``locale``, else Accept-Language."""
    email = value(form, "email")
    if email:
        try:
            _email(email)
        except ValidationError:
            raise bad(f"email is not an email address: {email[:60]!r}") from None
    channel = value(form, "channel").lower() or Channel.OPEN311
    if channel not in Channel.values:
        raise bad(f"channel must be one of {', '.join(Channel.values)}")
    if len(idempotency_key) > 200:
        raise bad("Idempotency-Key is longer than 200 characters")
    return RequestInput(
        lat=_number(form, "lat"),
        long=_number(form, "long"),
        address_string=_limited(form, "address_string", 500),
        address_id=_limited(form, "address_id", 120),
        zipcode=_limited(form, "zipcode", 12),
        description=form.get("description") or "",
        attributes=_attributes(form),
        media_urls=media_urls(form),
        email=email,
        phone=_limited(form, "phone", 40),
        first_name=_limited(form, "first_name", 100),
        last_name=_limited(form, "last_name", 100),
        device_id=_limited(form, "device_id", 200),
        account_id=_limited(form, "account_id", 200),
        channel=channel,
        locale=locale_pick(value(form, "locale")[:100] or accept_language[:200]),
        idempotency_key=idempotency_key,
        # CitySDK names the asset with service_object_id; FixMyStreet-style clients send attribute[asset_id].
        asset_claim=_limited(form, "service_object_id", 120),
    )
