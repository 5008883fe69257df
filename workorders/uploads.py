"""Resumable photo uploads (tus 1.0): bytes gathered in MEDIA_ROOT/uploads/<id>.part, then a work order's photo."""

import datetime as dt
import hashlib
import math
import os
import uuid
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.gis.geos import Point
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gis import crs
from workorders import locks
from workorders.media import image_kind
from workorders.models import Upload, WorkOrder, WorkOrderPhoto
from workorders.permissions import can_see

# Bytes read from the request per write: bounded memory whatever the chunk size the client chose.
READ_BYTES = 64 * 1024
HEAD_BYTES = 16  # what media.image_kind looks at


class UploadError(Exception):
    """A refused upload request; ``code`` is machine-readable, the message is for people."""

    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None):
        super().__init__(detail)
        self.code = code or self.code


class UploadInvalid(UploadError):
    """Bad length or metadata (codes length_invalid, metadata_invalid)."""


class UploadTooLarge(UploadError):
    code = "too_large"


class UploadNotFound(UploadError):
    """No such upload or photo for this user, or a work order they do not see (work_order_not_found)."""

    code = "not_found"


class UploadExpired(UploadError):
    code = "expired"


class UploadConflict(UploadError):
    code = "offset_mismatch"


class UploadRefused(UploadError):
    """The bytes are not an accepted image (not_an_image): the upload and its bytes are gone."""

    code = "not_an_image"


def _folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads"


def part_path(upload_id: uuid.UUID) -> Path:
    return _folder() / f"{upload_id}.part"


def upload_expires_at(upload: Upload) -> dt.datetime:
    return upload.updated_at + dt.timedelta(hours=settings.FIELDSVC_UPLOAD_KEEP_H)


def upload_create(*, user: AbstractBaseUser, length: int, metadata: dict[str, str]) -> Upload:
    """A new upload of ``length`` bytes for a photo of a work order the user sees (tus creation)."""
    if length < 1:
        raise UploadInvalid("Upload-Length must be at least 1 byte", code="length_invalid")
    if length > settings.FIELDSVC_MEDIA_MAX_BYTES:
        raise UploadTooLarge(f"{length} bytes; the limit is {settings.FIELDSVC_MEDIA_MAX_BYTES}")
    try:
        uuid.UUID(metadata.get("photo_id", ""))
        work_order_id = int(metadata.get("work_order", ""))
    except ValueError as exc:
        raise UploadInvalid("Upload-Metadata needs photo_id (a UUID) and work_order (an id)",
                            code="metadata_invalid") from exc
    work_order = WorkOrder.objects.filter(pk=work_order_id).first()
    if work_order is None or not can_see(user, work_order):
        raise UploadNotFound(f"no work order {work_order_id}", code="work_order_not_found")
    upload = Upload.objects.create(user=user, length=length, metadata=metadata)
    part_path(upload.pk).parent.mkdir(parents=True, exist_ok=True)
    return upload


def upload_get(*, upload_id: uuid.UUID, user: AbstractBaseUser) -> Upload:
    """The user's upload (UploadNotFound for anyone else's), UploadExpired once past its keep time."""
    return _alive(Upload.objects.filter(pk=upload_id, user=user).first(), now=timezone.now())


def _alive(upload: Upload | None, *, now: dt.datetime) -> Upload:
    if upload is None:
        raise UploadNotFound("no such upload")
    if upload.completed_at is None and upload_expires_at(upload) <= now:
        raise UploadExpired("this upload expired; start a new one")
    return upload


def upload_append(*, upload_id: uuid.UUID, user: AbstractBaseUser, offset: int, stream: BinaryIO,
                  content_length: int) -> Upload:
    """Up to ``content_length`` bytes from ``stream`` written at ``offset`` (tus PATCH). A dropped connection
    keeps what arrived: the stored offset is the bytes actually written, where the client resumes. The last
    byte makes the photo (upload_photo finds it); the work order was checked at creation, so a crew taken off
    it meanwhile still delivers the photo it took there."""
    error = None
    # The row lock is held while the body streams in: a second PATCH of this upload waits, then gets 409.
    with transaction.atomic():
        upload = locks.upload_locked(upload_id)
        if upload is not None and upload.user_id != user.pk:
            upload = None
        upload = _alive(upload, now=timezone.now())
        try:
            _append_locked(upload, offset=offset, stream=stream, content_length=content_length)
        except UploadError as exc:
            error = exc  # what was stored before it (a corrected offset, a deleted upload) is committed
    if error is not None:
        raise error
    return upload


def _append_locked(upload: Upload, *, offset: int, stream: BinaryIO, content_length: int) -> None:
    if upload.completed_at is not None:  # a retried last PATCH whose answer was lost
        if offset != upload.length:
            raise UploadConflict(f"Upload-Offset {offset}: this upload is complete at {upload.length}")
        if content_length:
            raise UploadTooLarge("this upload is complete")
        return
    path = part_path(upload.pk)
    on_disk = path.stat().st_size if path.exists() else 0
    if on_disk < upload.offset:
        # Stored bytes are gone (a lost disk, a photo move rolled back): the offset is what is really there.
        upload.offset = on_disk
        upload.save(update_fields=["offset"])
    if offset != upload.offset:
        raise UploadConflict(f"Upload-Offset {offset} is not where this upload stands: {upload.offset}")
    if content_length > upload.length - upload.offset:
        raise UploadTooLarge(f"{content_length} bytes sent; {upload.length - upload.offset} remain")
    written = _write(path, offset=offset, stream=stream, count=content_length)
    before, upload.offset = upload.offset, upload.offset + written
    upload.updated_at = timezone.now()
    head_at = min(HEAD_BYTES, upload.length)
    if before < head_at <= upload.offset and image_kind(_head(path)) is None:
        # Checked as soon as the first bytes are in, so a tablet does not send megabytes to be refused.
        upload.delete()
        path.unlink(missing_ok=True)
        raise UploadRefused("not a JPEG, PNG, GIF, WebP or HEIC image")
    if upload.offset == upload.length:
        _complete(upload, path)
    upload.save(update_fields=["offset", "updated_at", "completed_at", "sha256"])


def _write(path: Path, *, offset: int, stream: BinaryIO, count: int) -> int:
    """Bytes written at ``offset``, read in pieces until ``count`` or until the client stops sending."""
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o640), "r+b") as part:
        part.seek(offset)
        part.truncate()  # bytes past the stored offset are from a request that died before it committed
        while written < count:
            try:
                chunk = stream.read(min(READ_BYTES, count - written))
            except OSError:  # a dropped connection: UnreadablePostError, gunicorn's NoMoreData, a timeout
                break
            if not chunk:  # the client closed early
                break
            part.write(chunk)
            written += len(chunk)
        part.flush()
        os.fsync(part.fileno())  # the offset committed next promises these bytes survive a crash
    return written


def _head(path: Path) -> bytes:
    with path.open("rb") as part:
        return part.read(HEAD_BYTES)


class _PartFile(File):
    """The finished .part file: FileSystemStorage moves a file with a temporary_file_path instead of copying."""

    def temporary_file_path(self) -> str:
        return self.name


def _complete(upload: Upload, path: Path) -> None:
    with path.open("rb") as part:
        upload.sha256 = hashlib.file_digest(part, "sha256").hexdigest()
    upload.completed_at = timezone.now()
    content_type, extension = image_kind(_head(path))
    fields = photo_fields(upload.metadata, now=upload.completed_at)
    if upload_photo(upload) is not None:  # the same photo_id, or the same picture on this work order: one photo
        path.unlink()
        return
    if not WorkOrder.objects.filter(pk=fields["work_order_id"]).exists():
        upload.delete()
        path.unlink()
        raise UploadNotFound("the work order is gone", code="work_order_not_found")
    photo = WorkOrderPhoto(upload=upload, content_type=content_type, size=upload.length, sha256=upload.sha256,
                           author=upload.user, author_label=upload.user.get_username(), **fields)
    with path.open("rb") as part:
        photo.file.save(f"{photo.pk}.{extension}", _PartFile(part, name=str(path)), save=False)
    path.unlink(missing_ok=True)  # moved already on the file system; a storage that copies leaves it
    try:
        with transaction.atomic():
            photo.save(force_insert=True)
    except IntegrityError:  # the same picture finished by a parallel upload a moment ago
        photo.file.delete(save=False)


def photo_fields(metadata: dict[str, str], *, now: dt.datetime) -> dict:
    """WorkOrderPhoto fields from the client's Upload-Metadata. A bad taken_at or position is dropped, not
    refused: the picture is the evidence, and a wrong clock or GPS fix must not lose it."""
    return {"id": uuid.UUID(metadata["photo_id"]), "work_order_id": int(metadata["work_order"]),
            "occurred_at": _taken_at(metadata.get("taken_at", ""), now=now),
            "position": _position(metadata.get("lon"), metadata.get("lat")),
            "device_id": metadata.get("device_id", "")[:100], "caption": metadata.get("caption", "")[:300]}


def _taken_at(value: str, *, now: dt.datetime) -> dt.datetime:
    """ISO 8601 from the device (without a zone: the server's); missing or bad: now; a clock ahead: now."""
    try:
        taken_at = parse_datetime(value.strip())
    except ValueError:
        taken_at = None
    if taken_at is None:
        return now
    if timezone.is_naive(taken_at):
        taken_at = timezone.make_aware(taken_at)
    return min(taken_at, now)


def _position(lon: str | None, lat: str | None) -> Point | None:
    """WGS84 lon/lat from the device in the storage CRS; None unless both are numbers inside its area."""
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lon_f) and math.isfinite(lat_f) and -180 <= lon_f <= 180 and -90 <= lat_f <= 90):
        return None
    x, y = crs.storage_point(lon_f, lat_f)
    if not (math.isfinite(x) and math.isfinite(y) and crs.in_storage_area(x, y)):
        return None
    return Point(x, y, srid=crs.storage_srid())


def upload_photo(upload: Upload) -> WorkOrderPhoto | None:
    """The photo a finished upload became: the one with its photo_id, else its picture on its work order."""
    if not upload.sha256:
        return None
    photo_id = uuid.UUID(upload.metadata["photo_id"])
    found = list(WorkOrderPhoto.objects.filter(
        Q(pk=photo_id) | Q(work_order_id=int(upload.metadata["work_order"]), sha256=upload.sha256))[:2])
    return next((p for p in found if p.pk == photo_id), found[0] if found else None)


def upload_terminate(*, upload_id: uuid.UUID, user: AbstractBaseUser) -> None:
    """The upload and its bytes deleted (tus termination); a photo it already became stays."""
    with transaction.atomic():
        upload = locks.upload_locked(upload_id)
        if upload is None or upload.user_id != user.pk:
            raise UploadNotFound("no such upload")
        upload.delete()
    part_path(upload_id).unlink(missing_ok=True)


def uploads_expire(*, now: dt.datetime | None = None) -> int:
    """Unfinished uploads untouched for FIELDSVC_UPLOAD_KEEP_H hours deleted with their bytes, and .part
    files that lost their upload (its user deleted); the number of uploads deleted."""
    before = (now or timezone.now()) - dt.timedelta(hours=settings.FIELDSVC_UPLOAD_KEEP_H)
    with transaction.atomic():
        stale = locks.uploads_stale_locked(before=before)
        Upload.objects.filter(pk__in=[u.pk for u in stale]).delete()
    for upload in stale:
        part_path(upload.pk).unlink(missing_ok=True)
    _orphans_delete(before=before)
    return len(stale)


def _orphans_delete(*, before: dt.datetime) -> None:
    """.part files untouched since ``before`` whose upload is gone (deleted with its user, or by hand)."""
    unfinished = {str(pk) for pk in Upload.objects.filter(completed_at__isnull=True).values_list("pk", flat=True)}
    for path in _folder().glob("*.part"):
        try:
            if path.stem not in unfinished and path.stat().st_mtime < before.timestamp():
                path.unlink()
        except FileNotFoundError:  # terminated meanwhile
            pass


def photo_get(*, photo_id: uuid.UUID, user: AbstractBaseUser) -> WorkOrderPhoto:
    """A photo of a work order the user sees, else UploadNotFound (whether it exists or not)."""
    photo = WorkOrderPhoto.objects.select_related("work_order").filter(pk=photo_id).first()
    if photo is None or not can_see(user, photo.work_order):
        raise UploadNotFound("no such photo")
    return photo
