"""Open311 XML and JSON: renderers (Spark convention), the error body and the error handler."""

import re
from typing import Any
from xml.etree import ElementTree as ET

import orjson
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

# XML element for the items of each list, by the list's own element (JSON arrays have none).
LIST_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "notes": "note",
    "media_urls": "media_url",
    "asset_ids": "asset_id",
    "utilities": "utility",
    "service_requests_updates": "request_update",
    "service_request_updates": "request_update",
}
# Characters XML 1.0 cannot carry at all (control characters other than tab, newline, return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Open311Error(Exception):
    """An Open311 error: HTTP status plus the code/description body (several errors allowed)."""

    def __init__(self, status_code: int, description: str, code: int | None = None):
        super().__init__(description)
        self.status_code = status_code
        self.code = code or status_code
        self.description = description


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _NOT_XML.sub("", str(value))


def _element(parent: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _element(child, key, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _element(child, LIST_ITEMS.get(name, "item"), item)
    else:
        child.text = _text(value)


class Open311XMLRenderer(BaseRenderer):
    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        view = (renderer_context or {}).get("view")
        response = (renderer_context or {}).get("response")
        root_name = "errors" if response is not None and response.status_code >= 400 else (
            getattr(view, "xml_root", None) or "response"
        )
        root = ET.Element(root_name)
        if isinstance(data, list):
            for item in data:
                _element(root, LIST_ITEMS.get(root_name, "item"), item)
        elif isinstance(data, dict):
            for key, value in data.items():
                _element(root, key, value)
        body = ET.tostring(root, encoding="unicode")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


class Open311JSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return orjson.dumps(data)


def error_body(errors: list[tuple[int, str]]) -> list[dict]:
    return [{"code": code, "description": description} for code, description in errors]


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every failure as an Open311 error body: 404 missing, 403 bad key, 429 too fast, 400 the rest."""
    headers = {}
    if isinstance(exc, Open311Error):
        status_code, code, description = exc.status_code, exc.code, exc.description
    elif isinstance(exc, Http404 | exceptions.NotFound):
        status_code, code, description = 404, 404, str(exc) or "not found"
    elif isinstance(exc, exceptions.Throttled):
        status_code, code = status.HTTP_429_TOO_MANY_REQUESTS, 429
        description = f"too many requests: try again in {exc.wait:.0f} s" if exc.wait else "too many requests"
        if exc.wait:
            headers["Retry-After"] = str(int(exc.wait) + 1)
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed | exceptions.PermissionDenied):
        status_code, code, description = 403, 403, str(exc.detail)
    elif isinstance(exc, exceptions.MethodNotAllowed):
        status_code, code, description = 405, 405, str(exc.detail)
    elif isinstance(exc, exceptions.APIException):
        status_code, code, description = 400, exc.status_code, _detail_text(exc.detail)
    else:
        return None
    return Response(error_body([(code, description)]), status=status_code, headers=headers)


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_detail_text(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_detail_text(d) for d in detail)
    return str(detail)
