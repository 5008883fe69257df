"""The residents' report page (/report/): a map of cases nearby, then a report sent through the same intake as
Open311 (channel "web"), or following a case already reported instead.

The page works without JavaScript as a plain form (service from a list, an address in words); with it, the map
chooses the spot, the resident's words suggest services (Open311 services?q=), nearby cases of that service are
offered to follow (duplicates.json), and the chosen service's questions appear (Open311 services/{code}).
"""

import datetime as dt
import re

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fieldsvc import resident_texts
from gis import crs
from workorders import cached, media, selectors, services
from workorders.catalogue import translated
from workorders.models import Channel
from workorders.open311.throttles import Open311RateThrottle

# Where the map opens without the resident's position: Boston City Hall Plaza (the demo's city), as lat/lon.
DEFAULT_CENTRE = (42.3603, -71.0580)
NEARBY_RADIUS_M = 800  # about ten minutes' walk: what "near me" means on a phone screen
NEARBY_LIMIT = 300
RECENTLY_CLOSED_DAYS = 30
DUPLICATE_SEARCH_M = 100  # wider than intake's own duplicate radius: let the resident judge
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
SESSION_REPORTED = "fieldsvc_reported"  # references this browser reported: their case page offers the survey


def _throttled(request: HttpRequest) -> HttpResponse | None:
    """A 429 once the caller's address has used its budget this minute (the one Open311 calls count against)."""
    throttle = Open311RateThrottle()
    if throttle.allow_request(request, None):
        return None
    response = JsonResponse({"code": "rate_limited", "description": "too many requests; try again shortly"},
                            status=429)
    response["Retry-After"] = str(int(throttle.wait()))
    return response


def _service_choices(locale: str) -> list[tuple[str, str]]:
    """Every active service as (code, name in ``locale``), by name."""
    names = [(s.code, translated(s.i18n, locale, "name", s.name)) for s in cached.catalogue().by_code.values()]
    return sorted(names, key=lambda pair: pair[1].casefold())


def _questions(service, locale: str, answers: dict[str, list[str]]) -> list[dict]:
    """The service's questions in ``locale``, with what was answered, for the form sent back (the no-JS path)."""
    found = []
    for attribute in service.attributes.all():
        if not attribute.variable:
            continue
        texts = attribute.i18n.get(locale, {}) if locale != "en" else {}
        names = texts.get("values") or {}
        found.append({
            "code": attribute.code, "datatype": attribute.datatype, "required": attribute.required,
            "description": texts.get("description") or attribute.description,
            "values": [(str(v["key"]), names.get(str(v["key"])) or v["name"]) for v in attribute.values or []],
            "answered": answers.get(attribute.code, []),
        })
    return found


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


@require_http_methods(["GET", "POST"])
def report_page(request: HttpRequest) -> HttpResponse:
    locale = resident_texts.page_locale(request)
    context = resident_texts.page_context(locale) | {
        "services": _service_choices(locale), "centre": DEFAULT_CENTRE, "form": {}, "questions": [],
        "errors": [], "answers": {},
    }
    if request.method == "GET":
        return resident_texts.render_page(request, "fieldsvc/report.html", context)
    return _throttled(request) or _report_submit(request, locale, context)


def _report_submit(request: HttpRequest, locale: str, context: dict) -> HttpResponse:
    form = request.POST
    answers: dict[str, list[str]] = {}
    for key in form:
        match = _ATTRIBUTE_KEY.match(key)
        if match:
            answers.setdefault(match.group(1), []).extend(form.getlist(key))
    values = {name: (form.get(name) or "").strip() for name in
              ("service_code", "description", "address_string", "email", "lat", "long")}
    lat, long = _number(values["lat"]), _number(values["long"])
    service = selectors.service_get(code=values["service_code"]) if values["service_code"] else None
    questions = _questions(service, locale, answers) if service else []
    uploads = request.FILES.getlist("media")[:settings.FIELDSVC_MEDIA_MAX_FILES + 1]
    errors = _problems(context["t"], service, questions, values, lat, long, uploads)
    created = None
    if not errors:
        data = services.RequestInput(
            lat=lat if long is not None else None, long=long if lat is not None else None,
            address_string=values["address_string"][:500], description=values["description"],
            attributes=answers, email=values["email"], channel=Channel.WEB, locale=locale, uploads=uploads,
            media_base_url=settings.FIELDSVC_PUBLIC_URL.rstrip("/") or request.build_absolute_uri("/").rstrip("/"),
        )
        try:
            created, _ = services.request_create(service=service, data=data)
        except services.IntakeError as exc:
            errors.append(str(exc))  # what the form cannot foresee, in the intake's words (English)
    if errors:
        context |= {"errors": errors, "form": values, "questions": questions}
        return resident_texts.render_page(request, "fieldsvc/report.html", context, status=400)
    reported = request.session.get(SESSION_REPORTED, [])
    request.session[SESSION_REPORTED] = [*reported[-19:], created.reference]
    done = HttpResponseRedirect(reverse("request-status", args=[created.reference]) + f"?lang={locale}&new=1")
    return resident_texts.remember(request, done, locale)


def _problems(t: dict, service, questions: list[dict], values: dict, lat, long, uploads: list) -> list[str]:
    """What the resident must put right, in their language (the intake checks everything again)."""
    errors = []
    if service is None:
        errors.append(t["service_required"])
    if (lat is None or long is None) and not values["address_string"]:
        errors.append(t["spot_required"])
    errors += [t["answer_required"].format(question=q["description"]) for q in questions
               if q["required"] and not any(v.strip() for v in q["answered"])]
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            errors.append(t["contact_required"])
    try:
        media.uploads_check(uploads)
    except media.MediaInvalid:
        errors.append(t["photo_invalid"].format(mb=settings.FIELDSVC_MEDIA_MAX_BYTES // 1_000_000))
    return errors


def _point(request: HttpRequest) -> Point | None:
    """?lat=&long= (WGS84) as a storage-CRS point, or None when missing or outside the area served."""
    lat, long = _number(request.GET.get("lat", "")), _number(request.GET.get("long", ""))
    if lat is None or long is None or not (-90 <= lat <= 90 and -180 <= long <= 180):
        return None
    x, y = crs.storage_point(long, lat)
    return Point(x, y, srid=crs.storage_srid()) if crs.in_storage_area(x, y) else None


def _features(rows: list[dict], locale: str) -> list[dict]:
    catalogue = cached.catalogue()
    statuses = resident_texts.status_texts(locale)
    features = []
    for row in rows:
        if row["lon"] is None:
            continue
        service = catalogue.by_id[row["service_id"]]
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            round(row["lon"], 7), round(row["lat"], 7)]}, "properties": {
            "reference": row["reference"], "status": row["status"],
            "status_text": statuses.get(row["detailed_status"], row["detailed_status"]),
            "service": translated(service.i18n, locale, "name", service.name), "service_code": service.code,
            "requested": row["requested"], "url": reverse("request-status", args=[row["reference"]]),
        }})
    return features


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"code": "bad_request", "description": message}, status=400)


@require_GET
def report_nearby(request: HttpRequest) -> HttpResponse:
    """GET /report/nearby.json?lat=&long=: open cases and those closed in the last 30 days within
    NEARBY_RADIUS_M, nearest first, as GeoJSON with texts in the page's language."""
    if refused := _throttled(request):
        return refused
    point = _point(request)
    if point is None:
        return _bad("lat and long must be WGS84 degrees inside the area this server covers")
    near = point
    locale = resident_texts.page_locale(request)
    open_rows = selectors.request_rows_public(filters=selectors.RequestFilter(
        statuses=["open"], near=near, radius_m=NEARBY_RADIUS_M), limit=NEARBY_LIMIT, extended=True)
    closed_rows = selectors.request_rows_public(filters=selectors.RequestFilter(
        statuses=["closed"], near=near, radius_m=NEARBY_RADIUS_M,
        closed_after=timezone.now() - dt.timedelta(days=RECENTLY_CLOSED_DAYS)), limit=NEARBY_LIMIT, extended=True)
    return JsonResponse({"type": "FeatureCollection", "features": _features(open_rows + closed_rows, locale)})


@require_GET
def report_duplicates(request: HttpRequest) -> HttpResponse:
    """GET /report/duplicates.json?service_code=&lat=&long=: open, original cases of that service or a related
    one within DUPLICATE_SEARCH_M, nearest first: what the resident may follow instead of reporting again."""
    if refused := _throttled(request):
        return refused
    point = _point(request)
    service = selectors.service_get(code=request.GET.get("service_code", ""))
    if point is None or service is None:
        return _bad("service_code, lat and long (WGS84, inside the area) are required")
    codes = [service.code, *(cached.catalogue().by_id[pk].code for pk in
                             cached.catalogue().related_ids.get(service.pk, []))]
    rows = selectors.request_rows_public(filters=selectors.RequestFilter(
        service_codes=codes, statuses=["open"], near=point, radius_m=DUPLICATE_SEARCH_M),
        limit=5, extended=True)
    rows = [row for row in rows if row["duplicate_of_id"] is None]
    return JsonResponse({"type": "FeatureCollection",
                         "features": _features(rows, resident_texts.page_locale(request))})


@require_GET
def report_places(request: HttpRequest) -> HttpResponse:
    """GET /report/places.json?q=words: addresses given on earlier reports that match, with where they are."""
    if refused := _throttled(request):
        return refused
    text = (request.GET.get("q") or "").strip()
    if not 2 < len(text) <= 200:
        return _bad("q is 3 to 200 characters")
    return JsonResponse({"places": [place | {"lon": round(place["lon"], 7), "lat": round(place["lat"], 7)}
                                    for place in selectors.request_places_public(text=text)]})


@require_POST
def report_follow(request: HttpRequest) -> HttpResponse:
    """POST /report/follow (number, email): follow a case instead of reporting it again; then its page."""
    if refused := _throttled(request):
        return refused
    locale = resident_texts.page_locale(request)
    found = selectors.request_find_public(number=request.POST.get("number", ""))
    email = (request.POST.get("email") or "").strip()
    if found is None:
        return _bad("no such request")
    try:
        validate_email(email)
        services.request_follow(request=found, email=email, locale=locale)
    except (ValidationError, services.IntakeError):
        return _bad(resident_texts.TEXTS[locale]["contact_required"])
    return HttpResponseRedirect(reverse("request-status", args=[found.reference]) + f"?lang={locale}&followed=1")
