"""The WFS endpoint at /wfs/: django-gisserver's WFSView with our feature types and Basic authentication."""

from django.http import HttpResponse
from gisserver.exceptions import OWSException
from gisserver.features import ServiceDescription
from gisserver.views import WFSView

from gis.wfs import types
from gis.wfs.auth import BadCredentials, basic_user


class NotAuthenticated(OWSException):
    """OWS exception report for failed Basic authentication (sent with 401 and a challenge)."""

    status_code = 401
    code = "OperationProcessingFailed"


class RegistryWfsApi(WFSView):
    xml_namespace = types.XML_NAMESPACE
    xml_namespace_aliases = {types.XML_PREFIX: types.XML_NAMESPACE}
    service_description = ServiceDescription(
        title="fieldsvc city assets and field service",
        abstract="City assets by type, underground utilities, neighbourhoods, public service requests and "
                 "(for staff) work orders. Coordinates are stored in a projected metre CRS.",
        keywords=["311", "assets", "utilities", "service requests", "work orders"],
        provider_name="fieldsvc",
    )
    index_template_name = "gisserver/index.html"

    def dispatch(self, request, *args, **kwargs):
        try:
            user = basic_user(request)
        except BadCredentials as exc:
            response: HttpResponse = NotAuthenticated(str(exc), locator="Authorization").as_response()
            response["WWW-Authenticate"] = 'Basic realm="fieldsvc WFS", charset="UTF-8"'
            return response
        if user is not None:
            request.user = user
        return super().dispatch(request, *args, **kwargs)

    def get_feature_types(self):
        return types.feature_types_for(self.request)
