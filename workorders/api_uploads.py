"""Crews' photos over HTTP: resumable uploads in tus 1.0 (core, creation, termination, expiration), a photo's bytes.

Thin: parse the tus headers, call one function of workorders/uploads.py, answer in tus headers. Every
error is a 4xx with {"code", "detail"} (https://tus.io/protocols/resumable-upload).
"""

import base64
import io
import uuid

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.authentication import BasicAuthentication, SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workorders import uploads
from workorders.models import Upload

TAGS = ["Crews"]
TUS_VERSION = "1.0.0"
OFFSET_STREAM = "application/offset+octet-stream"
STATUS = {uploads.UploadInvalid: 400, uploads.UploadTooLarge: 413, uploads.UploadNotFound: 404,
          uploads.UploadExpired: 410, uploads.UploadConflict: 409, uploads.UploadRefused: 422}


class Refused(Exception):
    """A request the interface refuses before the core sees it (bad tus headers)."""

    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code = status, code


class SignedInOrDiscovery(BasePermission):
    """Signed in, except OPTIONS: tus discovery tells nothing about anyone."""

    def has_permission(self, request, view) -> bool:
        return request.method == "OPTIONS" or bool(request.user and request.user.is_authenticated)


class FieldMediaView(APIView):
    """Session, token or password; every error as {"code", "detail"}, never a 500 for a client's mistake."""

    # Session first: its 403 carries no WWW-Authenticate, so a browser never pops a password dialog.
    authentication_classes = [SessionAuthentication, TokenAuthentication, BasicAuthentication]
    permission_classes = [SignedInOrDiscovery]
    renderer_classes = [JSONRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, uploads.UploadError):
            return Response({"code": exc.code, "detail": str(exc)}, status=STATUS.get(type(exc), 400))
        if isinstance(exc, Refused):
            return Response({"code": exc.code, "detail": str(exc)}, status=exc.status)
        response = super().handle_exception(exc)
        if isinstance(exc, APIException):
            response.data = {"code": exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code,
                             "detail": str(exc.detail)}
        return response


class TusView(FieldMediaView):
    """Requires Tus-Resumable: 1.0.0 (OPTIONS excepted) and answers with it; POST with X-HTTP-Method-Override
    stands for PATCH or DELETE, for clients behind proxies that drop those methods."""

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise Refused(412, "tus_version_unsupported", f"send Tus-Resumable: {TUS_VERSION}")

    def finalize_response(self, request: Request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        if response.status_code == 412:
            response["Tus-Version"] = TUS_VERSION
        return response

    @extend_schema(tags=TAGS, summary="tus discovery: version, extensions, largest upload", responses={204: None})
    def options(self, request: Request, *args, **kwargs) -> HttpResponse:
        response = HttpResponse(status=204)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = "creation,termination,expiration"
        response["Tus-Max-Size"] = str(settings.FIELDSVC_MEDIA_MAX_BYTES)
        return response


def _count(value: str) -> int | None:
    """A non-negative integer as tus and HTTP write it: 1 to 18 ASCII digits, no sign, no spaces."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _header_int(request: Request, name: str, code: str) -> int:
    value = _count(request.headers.get(name, ""))
    if value is None:
        raise Refused(400, code, f"{name} must be a non-negative integer")
    return value


def _metadata(header: str) -> dict[str, str]:
    """tus Upload-Metadata: comma-separated "key base64(value)" pairs, a key alone meaning ""."""
    pairs = {}
    try:
        for item in filter(None, (i.strip() for i in header.split(","))):
            key, _, value = item.partition(" ")
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode()
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError, and non-ASCII text that is no base64 at all
        raise Refused(400, "metadata_invalid", "Upload-Metadata values must be base64 of UTF-8 text") from exc
    return pairs


def _expires(upload: Upload) -> str:
    return http_date(uploads.upload_expires_at(upload).timestamp())


def _upload_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise uploads.UploadNotFound("no such upload") from exc


def _header(name: str, kind=OpenApiTypes.STR, description: str = "", **more) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.HEADER, description=description, **more)


# The tus headers in the contract, so clients and the fuzz tests (schemathesis) send them.
TUS_RESUMABLE = _header("Tus-Resumable", required=True, enum=[TUS_VERSION])
UPLOAD_LENGTH = _header("Upload-Length", OpenApiTypes.INT, "the photo's size in bytes", required=True)
UPLOAD_METADATA = _header("Upload-Metadata", description="comma-separated `key base64(value)`: photo_id, work_order, "
                          "filename, filetype, taken_at, lon, lat, device_id")
UPLOAD_OFFSET = _header("Upload-Offset", OpenApiTypes.INT, "bytes already stored (from HEAD)", required=True)


class UploadCreateApi(TusView):
    """POST /api/field/uploads/: a new upload for a photo of a work order (tus creation)."""

    @extend_schema(tags=TAGS, summary="Start a resumable photo upload (tus creation)", request=None,
                   parameters=[TUS_RESUMABLE, UPLOAD_LENGTH, UPLOAD_METADATA], responses={201: None})
    def post(self, request: Request) -> HttpResponse:
        if "Upload-Defer-Length" in request.headers:
            raise Refused(400, "length_invalid", "Upload-Length is required (creation-defer-length is not offered)")
        length = _header_int(request, "Upload-Length", "length_invalid")
        upload = uploads.upload_create(user=request.user, length=length,
                                       metadata=_metadata(request.headers.get("Upload-Metadata", "")))
        response = HttpResponse(status=201)
        response["Location"] = reverse("field:upload", kwargs={"upload_id": str(upload.pk)})
        response["Upload-Offset"] = "0"
        response["Upload-Expires"] = _expires(upload)
        return response


class UploadApi(TusView):
    """/api/field/uploads/<id>: HEAD where it stands, PATCH bytes at that offset, DELETE it (tus core,
    termination). The PATCH that brings the last byte answers with Fieldsvc-Photo-Id."""

    @extend_schema(tags=TAGS, summary="Where a resumable upload stands", parameters=[TUS_RESUMABLE],
                   responses={200: None})
    def head(self, request: Request, upload_id: str) -> HttpResponse:
        upload = uploads.upload_get(upload_id=_upload_id(upload_id), user=request.user)
        response = self._state(upload)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(tags=TAGS, summary="Send bytes of a resumable upload", request={OFFSET_STREAM: OpenApiTypes.BINARY},
                   parameters=[TUS_RESUMABLE, UPLOAD_OFFSET], responses={204: None})
    def patch(self, request: Request, upload_id: str) -> HttpResponse:
        if request.content_type.split(";")[0].strip().lower() != OFFSET_STREAM:
            raise Refused(415, "unsupported_media_type", f"send Content-Type: {OFFSET_STREAM}")
        offset = _header_int(request, "Upload-Offset", "offset_invalid")
        # No Content-Length is an empty body (RFC 9112 6.3), unless it is chunked, which WSGI cannot read.
        content_length = _count(request.META.get("CONTENT_LENGTH") or "0")
        if content_length is None or "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            raise Refused(411, "length_required", "send Content-Length (chunked bodies are not read)")
        upload = uploads.upload_append(upload_id=_upload_id(upload_id), user=request.user, offset=offset,
                                       stream=request.stream or io.BytesIO(), content_length=content_length)
        response = self._state(upload)
        response.status_code = 204
        return response

    @extend_schema(tags=TAGS, summary="Abandon a resumable upload (tus termination)", parameters=[TUS_RESUMABLE],
                   responses={204: None})
    def delete(self, request: Request, upload_id: str) -> HttpResponse:
        uploads.upload_terminate(upload_id=_upload_id(upload_id), user=request.user)
        return HttpResponse(status=204)

    @extend_schema(exclude=True)
    def post(self, request: Request, upload_id: str) -> HttpResponse:
        override = request.headers.get("X-HTTP-Method-Override", "").upper()
        if override == "PATCH":
            return self.patch(request, upload_id)
        if override == "DELETE":
            return self.delete(request, upload_id)
        raise Refused(405, "method_not_allowed", "POST here needs X-HTTP-Method-Override: PATCH or DELETE")

    @staticmethod
    def _state(upload: Upload) -> HttpResponse:
        response = HttpResponse(status=200)
        response["Upload-Offset"] = str(upload.offset)
        response["Upload-Length"] = str(upload.length)
        if upload.completed_at is None:
            response["Upload-Expires"] = _expires(upload)
        elif photo := uploads.upload_photo(upload):
            response["Fieldsvc-Photo-Id"] = str(photo.pk)
        return response


class PhotoFileApi(FieldMediaView):
    """GET /api/field/photos/<id>: a photo's bytes, for those who see its work order (404 for anyone else)."""

    @extend_schema(tags=TAGS, summary="A photo's bytes", responses={(200, "image/*"): OpenApiTypes.BINARY})
    def get(self, request: Request, photo_id: str) -> FileResponse:
        try:
            photo = uploads.photo_get(photo_id=uuid.UUID(photo_id), user=request.user)
        except ValueError as exc:
            raise uploads.UploadNotFound("no such photo") from exc
        try:
            content = photo.file.open("rb")
        except FileNotFoundError as exc:
            raise uploads.UploadNotFound("this photo's file is missing", code="file_missing") from exc
        response = FileResponse(content, content_type=photo.content_type, filename=photo.file.name.rsplit("/")[-1])
        # A photo never changes (its id and sha256 are its content): the tablet keeps it for offline use.
        response["Cache-Control"] = "private, max-age=31536000, immutable"
        response["ETag"] = f'"{photo.sha256}"'
        return response
