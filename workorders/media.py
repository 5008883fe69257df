"""Photos sent with a request: recognised by their first bytes (not by the client's word), size-limited."""

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

# Leading bytes of the image formats phones send; anything else is refused.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


class MediaInvalid(ValueError):
    """An upload that is not an accepted image, too big, or one too many."""


def image_kind(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of an accepted image from its first 16 bytes, else None."""
    for signature, content_type, extension in _SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return "image/heic", "heic"
    return None


def uploads_check(files: list[UploadedFile]) -> list[tuple[UploadedFile, str, str]]:
    """(file, content type, extension) for each upload, or MediaInvalid naming the problem."""
    if len(files) > settings.FIELDSVC_MEDIA_MAX_FILES:
        raise MediaInvalid(f"at most {settings.FIELDSVC_MEDIA_MAX_FILES} photos per request")
    checked = []
    for upload in files:
        if upload.size > settings.FIELDSVC_MEDIA_MAX_BYTES:
            raise MediaInvalid(f"{upload.name[:60]} is {upload.size} bytes; the limit is "
                               f"{settings.FIELDSVC_MEDIA_MAX_BYTES}")
        upload.seek(0)
        kind = image_kind(upload.read(16))
        upload.seek(0)
        if kind is None:
            raise MediaInvalid(f"{upload.name[:60]} is not a JPEG, PNG, GIF, WebP or HEIC image")
        checked.append((upload, *kind))
    return checked
