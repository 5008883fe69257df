"""Open311 GeoReport v2 endpoints: one view per operation, parameters in, payloads out."""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from workorders import selectors, services, suggest
from workorders.catalogue import locale_pick
from workorders.models import ApiKey
from workorders.open311 import params, payloads, schema
from workorders.open311.render import Open311Error, Open311JSONRenderer, Open311XMLRenderer, exception_handler
from workorders.open311.throttles import Open311RateThrottle

MAX_ID = 2**63 - 1  # bigint: a longer number names no request (and must not reach the database)


class Open311Api(APIView):
    """XML (the spec's default) or JSON by URL suffix; Open311 error bodies; one jurisdiction."""

    renderer_classes = [Open311XMLRenderer, Open311JSONRenderer]
    parser_classes = [FormParser, MultiPartParser]
    authentication_classes: list = []  # API keys are checked per operation, never sessions/CSRF
    permission_classes = [AllowAny]
    xml_root = "response"

    def get_exception_handler(self):
        return exception_handler

    throttle_classes = [Open311RateThrottle]

    def initial(self, request, *args, **kwargs):
        refused = None
        if request.method == "POST":  # the key first: its rate limit is checked with the others
            try:
                request.open311_api_key = api_key_from(params.value(request.data, "api_key")
                                                       or request.headers.get("X-Api-Key", ""))
            except Open311Error as error:  # raised after negotiation, so a .json path answers in JSON
                refused = error
        super().initial(request, *args, **kwargs)
        if refused is not None:
            raise refused
        given = params.value(request.query_params, "jurisdiction_id") or (
            params.value(request.data, "jurisdiction_id") if request.method == "POST" else ""
        )
        if given and given.lower() != settings.FIELDSVC_OPEN311_JURISDICTION.lower():
            raise Open311Error(404, f"jurisdiction_id {given[:60]!r} not found; this server is "
                                    f"{settings.FIELDSVC_OPEN311_JURISDICTION}")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "GET":
            response["Access-Control-Allow-Origin"] = "*"  # browser clients (G-13)
        return response

    def extensions(self) -> bool:
        """extensions=true adds extended_attributes and notes; the default output stays plain v2."""
        return params.value(self.request.query_params, "extensions").lower() == "true"

    def items(self, filters: selectors.RequestFilter, *, offset: int = 0, limit: int = 1000) -> list[dict]:
        """Matching request items in the asked locale; with extensions=true, notes and neighbourhoods too."""
        extended = self.extensions()
        rows = selectors.request_rows_public(filters=filters, offset=offset, limit=limit, extended=extended)
        if not extended:
            return payloads.request_items(rows, locale=self.locale())
        ids = [row["id"] for row in rows]
        return payloads.request_items(
            rows, locale=self.locale(), extensions=True, notes=selectors.notes_public(request_ids=ids),
            districts=selectors.district_names(ids={r["district_id"] for r in rows if r["district_id"]}),
        )

    def locale(self) -> str:
        return locale_pick(params.value(self.request.query_params, "locale")
                           or self.request.headers.get("Accept-Language"))


def api_key_from(key: str) -> ApiKey:
    """The active API key ``key`` names (only its hash is stored), or a 403."""
    if not key:
        raise Open311Error(403, "api_key is required to submit a request")
    found = selectors.api_key_active(key_sha256=services.api_key_hash(key))
    if found is None:
        raise Open311Error(403, "api_key is not valid")
    return found


def public_base(request) -> str:
    return settings.FIELDSVC_PUBLIC_URL.rstrip("/") or request.build_absolute_uri("/").rstrip("/")


def endpoint_url(request) -> str:
    return public_base(request) + "/open311/v2"


class DiscoveryApi(Open311Api):
    xml_root = "discovery"

    @schema.discovery
    def get(self, request, format=None):
        changed = selectors.catalogue_changed_at() or timezone.now()
        return Response(payloads.discovery(url=endpoint_url(request), changeset=changed,
                                           contact=settings.FIELDSVC_OPEN311_CONTACT,
                                           key_service=settings.FIELDSVC_OPEN311_KEY_SERVICE))


class ServiceListApi(Open311Api):
    xml_root = "services"

    @schema.services_list
    def get(self, request, format=None):
        """The catalogue; with ?q=words, only the services those words suggest, best first."""
        locale = self.locale()
        services_found = list(selectors.service_list())
        words = params.value(request.query_params, "q")
        if words:
            if len(words) > 500:
                raise params.bad("q is longer than 500 characters")
            ranked = suggest.suggest([suggest.entry_for(s) for s in services_found], words)
            by_code = {s.code: s for s in services_found}
            services_found = [by_code[code] for code, _ in ranked]
        return Response([payloads.service_item(s, locale) for s in services_found])


class ServiceDefinitionApi(Open311Api):
    xml_root = "service_definition"

    @schema.service_definition
    def get(self, request, service_code: str, format=None):
        service = selectors.service_get(code=service_code)
        if service is None:
            raise Open311Error(404, f"service_code {service_code[:60]!r} not found")
        return Response(payloads.service_definition(service, self.locale()))


class RequestListCreateApi(Open311Api):
    xml_root = "service_requests"

    @schema.requests_list
    def get(self, request, format=None):
        filters = params.request_filter(request.query_params)
        page = params.page(request.query_params)
        start = (page.number - 1) * page.size
        return Response(self.items(filters, offset=start, limit=page.size))

    @schema.requests_create
    def post(self, request, format=None):
        form = request.data
        api_key = request.open311_api_key
        code = params.value(form, "service_code")
        if not code:
            raise Open311Error(400, "service_code is required")
        service = selectors.service_get(code=code)
        if service is None:
            raise Open311Error(404, f"service_code {code[:60]!r} not found")
        data = params.request_input(form, idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
                                    accept_language=request.headers.get("Accept-Language", ""))
        data.uploads = params.uploads(request.FILES)
        data.media_base_url = public_base(request)
        try:
            created, is_new = services.request_create(service=service, data=data, api_key=api_key)
        except services.IntakeError as exc:
            raise Open311Error(400, str(exc)) from None
        return Response([payloads.created_item(created, data.locale)], status=201 if is_new else 200)


class RequestDetailApi(Open311Api):
    xml_root = "service_requests"

    @schema.request_detail
    def get(self, request, service_request_id: int, format=None):
        items = [] if service_request_id > MAX_ID else self.items(selectors.RequestFilter(ids=[service_request_id]))
        if not items:
            raise Open311Error(404, f"service_request_id {service_request_id} not found")
        return Response(items)


class TokenApi(Open311Api):
    xml_root = "service_requests"

    @schema.token
    def get(self, request, token: str, format=None):
        found = selectors.request_by_token(token=token)
        if found is None:
            raise Open311Error(404, f"token {token[:60]!r} not found")
        return Response([payloads.token_item(token, found)])


def discovery_page(request):
    """The endpoint root as HTML (the discovery spec recommends one for people)."""
    return render(request, "workorders/open311_index.html", {"endpoint": endpoint_url(request)})
