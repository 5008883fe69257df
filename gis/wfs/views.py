"""The WFS endpoint at /wfs/: django-gisserver's WFSView with our feature types, Basic authentication and
WFS-T (Transaction) for the GIS-editor role."""

from defusedxml import DefusedXmlException
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException
from django.core.exceptions import FieldError, RequestDataTooBig
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from gisserver.exceptions import ExternalParsingError, InvalidParameterValue, OperationParsingFailed, OWSException
from gisserver.features import ServiceDescription
from gisserver.operations.base import Parameter, WFSOperation
from gisserver.views import WFSView

from gis import editing
from gis.wfs import compat, guard, transaction, types  # noqa: F401  (compat: GDAL's BBOX without srsName)
from gis.wfs.auth import BadCredentials, basic_user

PG_BIGINT_MAX = 2**63 - 1


class NotAuthenticated(OWSException):
    """OWS exception report for failed Basic authentication (sent with 401 and a challenge)."""

    status_code = 401
    code = "OperationProcessingFailed"


class TransactionOperation(WFSOperation):
    """Listed in the capabilities of users who may edit (QGIS turns editing on when it sees it); the POST
    itself is handled by RegistryWfsApi.transaction, since django-gisserver has no Transaction parser."""

    def get_parameters(self):
        formats = ["application/gml+xml; version=3.2", "text/xml; subtype=gml/3.1.1", "text/xml; subtype=gml/2.1.2"]
        return [Parameter("inputFormat", allowed_values=formats), Parameter("releaseAction", allowed_values=["ALL"])]


def hostile(text: str | bytes, *, max_elements: bool) -> None:
    """OperationParsingFailed (400) for XML bombs and absurd nesting, before any parser sees the text."""
    if not text:
        return
    try:
        guard.xml_check(text, max_elements=guard.MAX_FILTER_ELEMENTS if max_elements else None)
    except guard.HostileXml as exc:
        raise OperationParsingFailed(str(exc), locator="filter") from exc


class RegistryWfsApi(WFSView):
    xml_namespace = types.XML_NAMESPACE
    xml_namespace_aliases = {types.XML_PREFIX: types.XML_NAMESPACE}
    service_description = ServiceDescription(
        title="fieldsvc city assets and field service",
        abstract="City assets by type, underground utilities, neighbourhoods, public service requests and "
                 "(for staff) work orders. Coordinates are stored in a projected metre CRS. GIS editors may "
                 "insert, update and delete assets and utility features (WFS-T).",
        keywords=["311", "assets", "utilities", "service requests", "work orders"],
        provider_name="fieldsvc",
        contact_person="fieldsvc GIS team",  # OWS 1.1 requires a ServiceContact
    )
    index_template_name = "gisserver/index.html"

    @csrf_exempt  # GIS clients POST XML without a CSRF token; transactions check it themselves (below)
    def dispatch(self, request, *args, **kwargs):
        try:
            user = basic_user(request)
        except BadCredentials as exc:
            return self.challenge(str(exc))
        self.basic_authenticated = user is not None
        if user is not None:
            request.user = user
        if editing.user_may_edit_any(request.user):
            self.accept_operations = {"WFS": {**WFSView.accept_operations["WFS"], "Transaction": TransactionOperation}}
            self.wfs_service_constraints = {**WFSView.wfs_service_constraints, "ImplementsTransactionalWFS": True}
        return super().dispatch(request, *args, **kwargs)

    def challenge(self, message: str) -> HttpResponse:
        response = NotAuthenticated(message, locator="Authorization").as_response()
        response["WWW-Authenticate"] = 'Basic realm="fieldsvc WFS", charset="UTF-8"'
        return response

    def get(self, request, *args, **kwargs):
        hostile(next((v for k, v in request.GET.items() if k.upper() == "FILTER"), ""), max_elements=True)
        result_type = next((v for k, v in request.GET.items() if k.upper() == "RESULTTYPE"), None)
        if result_type is not None and result_type.lower() not in ("results", "hits"):
            raise InvalidParameterValue(f"resultType must be results or hits, not {result_type[:40]!r}",
                                        locator="resultType")
        return super().get(request, *args, **kwargs)

    def call_operation(self, wfs_operation_cls):
        # django-gisserver passes these to SQL unchecked: a negative or huge number would be a 500.
        count, start = getattr(self.ows_request, "count", None), getattr(self.ows_request, "startIndex", 0) or 0
        if count is not None and not 0 <= count <= PG_BIGINT_MAX:
            raise InvalidParameterValue(f"COUNT must be a whole number from 0 to {PG_BIGINT_MAX}", locator="count")
        if not 0 <= start <= PG_BIGINT_MAX:
            raise InvalidParameterValue(f"STARTINDEX must be a whole number from 0 to {PG_BIGINT_MAX}",
                                        locator="startIndex")
        try:
            return super().call_operation(wfs_operation_cls)
        except (TypeError, AttributeError, ValueError, FieldError) as exc:
            # django-gisserver builds the query from the client's filter without checking it fits the feature
            # type (an empty ValueReference, a spatial operator on a text property): with a filter, the
            # filter is at fault; without one, it is our bug and stays a 500.
            if not self._has_filter() or str(exc).startswith("Unknown unit type"):  # the latter: handle_exception
                raise
            raise InvalidParameterValue(f"the filter cannot be applied to this feature type "
                                        f"({type(exc).__name__}: {str(exc)[:200]})", locator="filter") from exc

    def _has_filter(self) -> bool:
        return self.request.method == "POST" or any(k.upper() in ("FILTER", "BBOX", "RESOURCEID")
                                                    for k in self.request.GET)

    def handle_exception(self, exc):
        if isinstance(exc, AttributeError) and str(exc).startswith("Unknown unit type"):  # fes:Distance uom
            exc = InvalidParameterValue(f"{exc}: use m, km, ft, mi…", locator="uom")
        elif isinstance(exc, ExternalParsingError):  # a filter django-gisserver could not read, e.g. wrong arity
            exc = OperationParsingFailed(str(exc)[:300], locator="filter")
        elif isinstance(exc, DefusedXmlException):  # django-gisserver's defusedxml parser refused it
            exc = OperationParsingFailed("XML with a DTD, entity declarations or external references is not "
                                         f"accepted ({type(exc).__name__})", locator="filter")
        elif isinstance(exc, GEOSException | GDALException):  # a filter's geometry GEOS cannot read
            exc = InvalidParameterValue(f"the filter's geometry is not valid: {str(exc)[:200]}", locator="filter")
        elif isinstance(exc, RecursionError):
            exc = OperationParsingFailed("the request is nested too deeply", locator="filter")
        return super().handle_exception(exc)

    def get_feature_types(self):
        return types.feature_types_for(self.request)

    def post(self, request, *args, **kwargs):
        try:
            body = request.body
        except RequestDataTooBig:
            return OWSException("the request body is too large", code="OperationProcessingFailed",
                                status_code=413).as_response()
        is_transaction = transaction.is_transaction(body)
        hostile(body, max_elements=not is_transaction)  # transactions may carry thousands of features
        if is_transaction:
            return self.transaction(body)
        return super().post(request, *args, **kwargs)

    def transaction(self, body: bytes) -> HttpResponse:
        user = self.request.user
        if not user.is_authenticated:
            return self.challenge("sign in as a GIS editor to edit (HTTP Basic)")
        if not self.basic_authenticated:  # a browser session: another site could post this form, so CSRF applies
            refused = CsrfViewMiddleware(lambda request: None).process_view(self.request, None, (), {})
            if refused is not None:
                return OWSException("a transaction in a browser session needs a CSRF token; GIS clients use "
                                    "HTTP Basic", code="OperationProcessingFailed", status_code=403).as_response()
        try:
            targets = editing.edit_targets(asset_type_name=types.asset_type_name)
            parsed = transaction.parse_transaction(body, targets=targets)
            result = editing.feature_edits_apply(user=user, edits=parsed.edits)
        except editing.EditRejected as exc:
            status = 403 if isinstance(exc, editing.EditForbidden) else 400
            text = str(exc)
            locator = exc.locator[:len(text) - 1][:100] or None
            return OWSException(text, code=exc.code, locator=locator, status_code=status).as_response()
        return HttpResponse(transaction.response(parsed, result), content_type="text/xml; charset=utf-8")
