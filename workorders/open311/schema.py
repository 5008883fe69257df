"""OpenAPI descriptions of the Open311 operations (drf-spectacular), kept apart from the views' code."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

TAG = "Open311 GeoReport v2"
Q = OpenApiParameter.QUERY


def _p(name: str, description: str, kind=OpenApiTypes.STR, **extra) -> OpenApiParameter:
    return OpenApiParameter(name, kind, Q, description=description, **extra)


JURISDICTION = _p("jurisdiction_id", "optional: this server's one jurisdiction; another is 404")
LOCALE = _p("locale", "catalogue language: en, es, zh-hans, ht, pt, vi, kea, ru, ar, fr (else Accept-Language)")
EXTENSIONS = _p("extensions", "true adds extended_attributes and notes[]", enum=["true"])

# A list, as the spec says: drf-spectacular documents an error response's list as one object, so
# one_format_per_path (below) makes it an array again.
ERRORS = inline_serializer("Open311Error", fields={
    "code": serializers.IntegerField(), "description": serializers.CharField(),
})
ERROR_REF = {"$ref": "#/components/schemas/Open311Error"}
SERVICE = inline_serializer("Open311Service", fields={
    "service_code": serializers.CharField(), "service_name": serializers.CharField(),
    "description": serializers.CharField(), "metadata": serializers.BooleanField(),
    "type": serializers.ChoiceField(["realtime", "batch", "blackbox"]), "keywords": serializers.CharField(),
    "group": serializers.CharField(),
})
DEFINITION = inline_serializer("Open311ServiceDefinition", fields={
    "service_code": serializers.CharField(),
    "attributes": inline_serializer("Open311Attribute", many=True, fields={
        "variable": serializers.BooleanField(), "code": serializers.CharField(),
        "datatype": serializers.ChoiceField(["string", "number", "datetime", "text", "singlevaluelist",
                                             "multivaluelist"]),
        "required": serializers.BooleanField(), "datatype_description": serializers.CharField(),
        "order": serializers.IntegerField(), "description": serializers.CharField(),
        "values": inline_serializer("Open311AttributeValue", many=True, required=False, fields={
            "key": serializers.CharField(), "name": serializers.CharField()}),
    }),
})
REQUEST = inline_serializer("Open311Request", fields={
    "service_request_id": serializers.CharField(), "status": serializers.ChoiceField(["open", "closed"]),
    "status_notes": serializers.CharField(allow_null=True), "service_name": serializers.CharField(),
    "service_code": serializers.CharField(), "description": serializers.CharField(allow_null=True),
    "agency_responsible": serializers.CharField(), "service_notice": serializers.CharField(allow_null=True),
    "requested_datetime": serializers.DateTimeField(), "updated_datetime": serializers.DateTimeField(),
    "expected_datetime": serializers.DateTimeField(allow_null=True), "address": serializers.CharField(allow_null=True),
    "address_id": serializers.CharField(allow_null=True), "zipcode": serializers.CharField(allow_null=True),
    "lat": serializers.FloatField(allow_null=True), "long": serializers.FloatField(allow_null=True),
    "media_url": serializers.URLField(allow_null=True),
    "extended_attributes": serializers.DictField(required=False, help_text="with extensions=true"),
    "notes": serializers.ListField(child=serializers.DictField(), required=False, help_text="with extensions=true"),
})
CREATED = inline_serializer("Open311Created", many=True, fields={
    "service_request_id": serializers.CharField(required=False, help_text="realtime services"),
    "token": serializers.CharField(required=False, help_text="batch services: GET /tokens/{token}"),
    "service_notice": serializers.CharField(allow_null=True), "account_id": serializers.CharField(allow_null=True),
})
POST_FORM = inline_serializer("Open311RequestForm", fields={
    "api_key": serializers.CharField(), "service_code": serializers.CharField(),
    "lat": serializers.FloatField(required=False, help_text="WGS84; with long"),
    "long": serializers.FloatField(required=False), "address_string": serializers.CharField(required=False),
    "address_id": serializers.CharField(required=False),
    "description": serializers.CharField(required=False, help_text="plain text, at most 4000 characters"),
    "attribute[CODE]": serializers.CharField(required=False, help_text="answers; attribute[CODE][] for lists"),
    "media_url": serializers.URLField(required=False),
    "media": serializers.FileField(required=False, help_text="photos (multipart): JPEG, PNG, GIF, WebP, HEIC"),
    "email": serializers.EmailField(required=False, help_text="private: for notifications only"),
    "phone": serializers.CharField(required=False), "first_name": serializers.CharField(required=False),
    "last_name": serializers.CharField(required=False), "device_id": serializers.CharField(required=False),
    "account_id": serializers.CharField(required=False),
    "channel": serializers.ChoiceField(["web", "app", "phone", "walk_in", "social", "email", "employee", "open311"],
                                       required=False),
    "locale": serializers.CharField(required=False, help_text="the reporter's language for messages"),
})
UPDATE = inline_serializer("Open311RequestUpdate", many=True, fields={
    "update_id": serializers.CharField(), "service_request_id": serializers.CharField(),
    "status": serializers.CharField(help_text="mySociety upper-case state, e.g. FIXED, IN_PROGRESS"),
    "updated_datetime": serializers.DateTimeField(), "description": serializers.CharField(allow_null=True),
    "media_url": serializers.URLField(allow_null=True),
})
UPDATE_FORM = inline_serializer("Open311RequestUpdateForm", fields={
    "api_key": serializers.CharField(), "service_request_id": serializers.CharField(),
    "update_id": serializers.CharField(required=False, help_text="your id: a resend is recognised"),
    "status": serializers.CharField(required=False, help_text="OPEN, FIXED, … or UNCHANGED (a comment)"),
    "description": serializers.CharField(required=False), "media_url": serializers.URLField(required=False),
})

discovery = extend_schema(tags=[TAG], summary="Service discovery", parameters=[JURISDICTION],
                          responses={200: OpenApiTypes.OBJECT})
services_list = extend_schema(
    tags=[TAG], summary="List services", parameters=[JURISDICTION, LOCALE, _p(
        "q", "a resident's words ('street light out', 'bache'): only the services they suggest, best first")],
    responses={200: SERVICE.__class__(many=True), 429: ERRORS},
)
service_definition = extend_schema(tags=[TAG], summary="A service's questions", parameters=[JURISDICTION, LOCALE],
                                   responses={200: DEFINITION, 404: ERRORS})
requests_list = extend_schema(
    tags=[TAG], summary="Search requests (newest first; nearest first with lat/long)",
    parameters=[
        JURISDICTION, LOCALE, EXTENSIONS,
        _p("service_request_id", "comma-separated ids; overrides every other filter"),
        _p("service_code", "comma-separated"), _p("status", "open, closed or open,closed"),
        _p("start_date", "requested_datetime ≥ this (W3C); window at most 90 days, default the last 90"),
        _p("end_date", "requested_datetime < this"), _p("updated_after", "updated_datetime > this"),
        _p("updated_before", "updated_datetime < this"), _p("bbox", "min_long,min_lat,max_long,max_lat (WGS84)"),
        _p("lat", "WGS84: nearby requests, nearest first", OpenApiTypes.DOUBLE),
        _p("long", "WGS84", OpenApiTypes.DOUBLE), _p("radius", "metres from lat/long (≤ 50 km)", OpenApiTypes.DOUBLE),
        _p("q", "words in the description or address"), _p("page", "1-based", OpenApiTypes.INT),
        _p("page_size", "at most 1000", OpenApiTypes.INT),
    ],
    responses={200: REQUEST.__class__(many=True), 400: ERRORS},
)
requests_create = extend_schema(
    tags=[TAG], summary="Submit a request", request={"application/x-www-form-urlencoded": POST_FORM,
                                                      "multipart/form-data": POST_FORM},
    parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                 description="a retry with the same key returns the first request")],
    responses={201: CREATED, 200: CREATED, 400: ERRORS, 403: ERRORS, 404: ERRORS, 429: ERRORS},
)
request_detail = extend_schema(tags=[TAG], summary="One request (a one-item list)",
                               parameters=[JURISDICTION, LOCALE, EXTENSIONS],
                               responses={200: REQUEST.__class__(many=True), 404: ERRORS})
token = extend_schema(tags=[TAG], summary="The request id for a batch service's token",
                      responses={200: OpenApiTypes.OBJECT, 404: ERRORS})
updates_list = extend_schema(tags=[TAG], summary="Status steps and comments (mySociety extension)",
                             parameters=[_p("start_date", "W3C"), _p("end_date", "W3C"),
                                         _p("page", "1-based", OpenApiTypes.INT),
                                         _p("page_size", "at most 1000", OpenApiTypes.INT)],
                             responses={200: UPDATE})
updates_create = extend_schema(tags=[TAG], summary="Post an update to a request (mySociety extension)",
                               request={"application/x-www-form-urlencoded": UPDATE_FORM},
                               responses={201: OpenApiTypes.OBJECT, 400: ERRORS, 403: ERRORS, 404: ERRORS})


MEDIA_TYPES = {".json": "application/json", ".xml": "text/xml"}


def one_format_per_path(result, generator, request, public):
    """drf-spectacular post-processing hook: an Open311 path answers in the format of its suffix only, and the
    format is the suffix, not a query parameter; errors are a list (clients and schemathesis are told what
    really happens)."""
    for path, operations in result.get("paths", {}).items():
        suffix = next((s for s in MEDIA_TYPES if path.startswith("/open311/") and path.endswith(s)), None)
        if suffix is None:
            continue
        for operation in operations.values():
            operation["parameters"] = [p for p in operation.get("parameters", []) if p["name"] != "format"]
            if not operation["parameters"]:
                del operation["parameters"]
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                for media_type in [m for m in content if m != MEDIA_TYPES[suffix]]:
                    del content[media_type]
                for body in content.values():
                    if body.get("schema") == ERROR_REF:
                        body["schema"] = {"type": "array", "items": ERROR_REF}
    return result
