"""Resumable photo uploads (tus 1.0) as crews' tablets meet them: creation, offsets, chunks, the tus errors,
refusals, expiry, one photo per picture, a really dropped connection, and the official tus client."""

import base64
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.gis.db.models.functions import Transform
from django.http import UnreadablePostError
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token
from tusclient.client import TusClient

from gis.models import Department
from tests.work.conftest import CATALOGUE
from workorders import services, uploads
from workorders.models import Crew, Service, Upload, WorkOrder, WorkOrderPhoto

URL = "/api/field/uploads/"
TUS = {"Tus-Resumable": "1.0.0"}
STREAM = "application/offset+octet-stream"
# Cambridge City Hall, Massachusetts Avenue (WGS84, read off OpenStreetMap): inside EPSG:26986's area.
CITY_HALL = (-71.1043, 42.3670)


def jpeg(seed: int = 1, size: int = 128) -> bytes:
    """A real JPEG of noise (it hardly compresses: 20 kB at 128 px), different for each seed."""
    noise = hashlib.shake_256(str(seed).encode()).digest(size * size * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), noise).save(out, "JPEG", quality=95)
    return out.getvalue()


def tus_metadata(**fields: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in fields.items())


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def crew_work(registry, media):
    """Ana on the public-works crew with a pothole work order; Carl on no crew."""
    services.catalogue_load(data=CATALOGUE)
    works = Department.objects.get(code="public-works")
    users = get_user_model().objects
    ana, carl = users.create_user("ana", password="pw-ana"), users.create_user("carl", password="pw-carl")
    crew = Crew.objects.create(code="works-1", name="Works 1", department=works)
    crew.members.add(ana)
    work_order = WorkOrder.objects.create(department=works, service=Service.objects.get(code="pothole"),
                                          title="Pothole on Mass Ave", crew=crew, status="dispatched")
    return {"ana": ana, "carl": carl, "work_order": work_order}


@pytest.fixture
def ana(client, crew_work):
    client.force_login(crew_work["ana"])
    return client


def create(client, work_order: WorkOrder, length: int, photo_id: uuid.UUID | None = None, **more: str):
    meta = {"photo_id": str(photo_id or uuid.uuid4()), "work_order": str(work_order.pk), "filename": "hole.jpg",
            "filetype": "image/jpeg"} | more
    return client.post(URL, headers=TUS | {"Upload-Length": str(length), "Upload-Metadata": tus_metadata(**meta)})


def patch(client, location: str, offset: int, body: bytes, **headers: str):
    headers = TUS | {"Upload-Offset": str(offset)} | headers
    # The environ keys too: the test client leaves both out for an empty body, a real client does not.
    return client.generic("PATCH", location, body, content_type=STREAM, headers=headers, CONTENT_TYPE=STREAM,
                          CONTENT_LENGTH=str(len(body)))


def send(client, work_order: WorkOrder, data: bytes, photo_id: uuid.UUID | None = None, chunk: int = 8192,
         **more: str):
    """The whole tus exchange a tablet makes; the last PATCH's response."""
    location = create(client, work_order, len(data), photo_id, **more)["Location"]
    for offset in range(0, len(data), chunk):
        response = patch(client, location, offset, data[offset:offset + chunk])
        assert response.status_code == 204, response.content
    return response


@pytest.mark.django_db
def test_discovery_advertises_tus_1_0_creation_termination_expiration_and_the_size_limit(client, settings):
    response = client.options(URL)  # not signed in: discovery tells nothing about anyone
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0" and response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,termination,expiration"
    assert response["Tus-Max-Size"] == str(settings.FIELDSVC_MEDIA_MAX_BYTES)


def test_creation_gives_a_location_and_an_expiry_and_head_says_nothing_is_stored_yet(ana, crew_work, settings):
    response = create(ana, crew_work["work_order"], 1000)
    assert response.status_code == 201 and response["Tus-Resumable"] == "1.0.0"
    upload = Upload.objects.get()
    assert response["Location"] == f"/api/field/uploads/{upload.pk}"
    assert upload.metadata["filename"] == "hole.jpg" and upload.user == crew_work["ana"]
    expires = dt.datetime.strptime(response["Upload-Expires"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC)
    keep = dt.timedelta(hours=settings.FIELDSVC_UPLOAD_KEEP_H)
    assert abs(expires - (timezone.now() + keep)) < dt.timedelta(minutes=1)
    head = ana.head(response["Location"], headers=TUS)
    assert head.status_code == 200 and head["Cache-Control"] == "no-store"
    assert (head["Upload-Offset"], head["Upload-Length"]) == ("0", "1000")


def test_chunks_add_up_to_a_photo_of_the_work_order_with_the_devices_time_and_place(
        ana, crew_work, media, django_assert_max_num_queries):
    data, photo_id, wo = jpeg(), uuid.uuid4(), crew_work["work_order"]
    location = create(ana, wo, len(data), photo_id, taken_at="2026-05-04T09:30:00-04:00", device_id="tablet-7",
                      lon=str(CITY_HALL[0]), lat=str(CITY_HALL[1]))["Location"]
    first = patch(ana, location, 0, data[:5000])
    assert first.status_code == 204 and first["Upload-Offset"] == "5000" and "Fieldsvc-Photo-Id" not in first
    assert ana.head(location, headers=TUS)["Upload-Offset"] == "5000"
    assert patch(ana, location, 5000, data[5000:12000])["Upload-Offset"] == "12000"
    with django_assert_max_num_queries(12):
        last = patch(ana, location, 12000, data[12000:])
    assert last.status_code == 204 and last["Upload-Offset"] == str(len(data))
    assert last["Fieldsvc-Photo-Id"] == str(photo_id)
    photo = WorkOrderPhoto.objects.annotate(wgs84=Transform("position", 4326)).get()
    assert (photo.pk, photo.work_order, photo.author, photo.author_label) == (photo_id, wo, crew_work["ana"], "ana")
    assert photo.sha256 == hashlib.sha256(data).hexdigest() and photo.size == len(data)
    assert photo.content_type == "image/jpeg" and photo.device_id == "tablet-7"
    assert photo.occurred_at == dt.datetime(2026, 5, 4, 13, 30, tzinfo=dt.UTC)
    # PostGIS takes the stored point back to WGS84: the device's lon/lat, so the storage transform was right.
    assert photo.wgs84.x == pytest.approx(CITY_HALL[0], abs=1e-7) and photo.wgs84.y == pytest.approx(CITY_HALL[1])
    assert photo.file.name.startswith("work_orders/") and photo.file.read() == data
    assert not list((media / "uploads").iterdir())  # the .part file was moved, not left behind
    assert list(wo.photos.all()) == [photo]
    upload = Upload.objects.get()
    assert upload.completed_at is not None and upload.sha256 == photo.sha256
    # The answer to the last PATCH was lost: HEAD says it is done, a repeat says which photo it became.
    assert ana.head(location, headers=TUS)["Fieldsvc-Photo-Id"] == str(photo_id)
    assert patch(ana, location, len(data), b"")["Fieldsvc-Photo-Id"] == str(photo_id)


def test_the_photos_bytes_are_served_only_to_those_who_see_its_work_order(ana, crew_work, client):
    data = jpeg()
    photo_id = send(ana, crew_work["work_order"], data)["Fieldsvc-Photo-Id"]
    response = ana.get(f"/api/field/photos/{photo_id}")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == data
    client.force_login(crew_work["carl"])  # on no crew
    for url in (f"/api/field/photos/{photo_id}", f"/api/field/photos/{uuid.uuid4()}", "/api/field/photos/nope"):
        refused = client.get(url)
        assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    client.logout()
    assert client.get(f"/api/field/photos/{photo_id}").json()["code"] == "not_authenticated"


def test_an_offset_that_is_not_where_the_upload_stands_is_409_and_nothing_is_written(ana, crew_work):
    data = jpeg()
    location = create(ana, crew_work["work_order"], len(data))["Location"]
    assert patch(ana, location, 0, data[:100]).status_code == 204
    for offset in (0, 50, 200):
        response = patch(ana, location, offset, data[offset:offset + 100])
        assert response.status_code == 409 and response.json()["code"] == "offset_mismatch"
    assert Upload.objects.get().offset == 100


def test_tus_header_rules_412_415_413_400_and_a_malformed_offset(ana, crew_work, settings):
    wo = crew_work["work_order"]
    no_tus = ana.post(URL, headers={"Upload-Length": "100", "Upload-Metadata": tus_metadata(
        photo_id=str(uuid.uuid4()), work_order=str(wo.pk))})
    assert no_tus.status_code == 412 and no_tus["Tus-Version"] == "1.0.0"
    assert no_tus.json()["code"] == "tus_version_unsupported"
    assert ana.post(URL, headers={"Tus-Resumable": "0.2.2", "Upload-Length": "100"}).status_code == 412
    too_large = create(ana, wo, settings.FIELDSVC_MEDIA_MAX_BYTES + 1)
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large"
    for length in ("0", "-5", "ten", "", "²", "9" * 5000):
        response = ana.post(URL, headers=TUS | {"Upload-Length": length})
        assert response.status_code == 400 and response.json()["code"] == "length_invalid"
    location = create(ana, wo, 100)["Location"]
    wrong_type = ana.generic("PATCH", location, b"x" * 10, content_type="application/octet-stream",
                             headers=TUS | {"Upload-Offset": "0"})
    assert wrong_type.status_code == 415 and wrong_type.json()["code"] == "unsupported_media_type"
    assert patch(ana, location, 0, b"x" * 101).json()["code"] == "too_large"  # more than the upload's length
    bad_offset = ana.generic("PATCH", location, b"x", content_type=STREAM, headers=TUS | {"Upload-Offset": "-1"})
    assert bad_offset.status_code == 400 and bad_offset.json()["code"] == "offset_invalid"
    no_tus_patch = ana.generic("PATCH", location, b"x", content_type=STREAM, headers={"Upload-Offset": "0"})
    assert no_tus_patch.status_code == 412
    assert Upload.objects.get().offset == 0


def test_bad_metadata_is_400_and_a_work_order_the_user_does_not_see_is_404(ana, crew_work, client):
    wo = crew_work["work_order"]
    for meta in ({"work_order": str(wo.pk)}, {"photo_id": "x", "work_order": str(wo.pk)},
                 {"photo_id": str(uuid.uuid4()), "work_order": "WO-1"}):
        response = ana.post(URL, headers=TUS | {"Upload-Length": "10", "Upload-Metadata": tus_metadata(**meta)})
        assert response.status_code == 400 and response.json()["code"] == "metadata_invalid"
    not_base64 = ana.post(URL, headers=TUS | {"Upload-Length": "10", "Upload-Metadata": "photo_id %%%"})
    assert not_base64.json()["code"] == "metadata_invalid"
    for work_order in (str(wo.pk + 1000), "99999999999999999999"):
        missing = ana.post(URL, headers=TUS | {"Upload-Length": "10", "Upload-Metadata": tus_metadata(
            photo_id=str(uuid.uuid4()), work_order=work_order)})
        assert missing.status_code == 404 and missing.json()["code"] == "work_order_not_found"
    client.force_login(crew_work["carl"])
    assert create(client, wo, 10).json()["code"] == "work_order_not_found"
    assert not Upload.objects.exists()


def test_bytes_that_are_not_an_image_are_refused_with_the_first_chunk_and_deleted(ana, crew_work, media):
    data = b"%PDF-1.7\n" + os.urandom(20000)
    location = create(ana, crew_work["work_order"], len(data))["Location"]
    refused = patch(ana, location, 0, data[:8192])
    assert refused.status_code == 422 and refused.json()["code"] == "not_an_image"
    assert not Upload.objects.exists() and not WorkOrderPhoto.objects.exists()
    assert not list((media / "uploads").iterdir())
    assert ana.head(location, headers=TUS).status_code == 404


def test_an_image_that_is_shorter_than_its_signature_check_is_refused_when_complete(ana, crew_work):
    location = create(ana, crew_work["work_order"], 5)["Location"]
    assert patch(ana, location, 0, b"\xff\xd8").status_code == 204  # too few bytes to tell yet
    assert patch(ana, location, 2, b"abc").json()["code"] == "not_an_image"
    assert not WorkOrderPhoto.objects.exists()


def test_someone_elses_upload_is_404_whatever_the_method(ana, crew_work, client):
    location = create(ana, crew_work["work_order"], 100)["Location"]
    client.force_login(crew_work["carl"])
    assert client.head(location, headers=TUS).status_code == 404
    for response in (patch(client, location, 0, b"\xff\xd8\xff"), client.delete(location, headers=TUS),
                     client.delete(f"{URL}{uuid.uuid4()}", headers=TUS), client.delete(f"{URL}nope", headers=TUS)):
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.head(f"{URL}not-a-uuid", headers=TUS).status_code == 404
    assert Upload.objects.get().offset == 0


def test_termination_deletes_the_upload_and_its_bytes(ana, crew_work, media):
    location = create(ana, crew_work["work_order"], 1000)["Location"]
    patch(ana, location, 0, jpeg()[:300])
    response = ana.delete(location, headers=TUS)
    assert response.status_code == 204 and response["Tus-Resumable"] == "1.0.0"
    assert not Upload.objects.exists() and not list((media / "uploads").iterdir())
    assert ana.head(location, headers=TUS).status_code == 404


def test_method_override_lets_a_post_stand_for_patch_and_delete(ana, crew_work):
    location = create(ana, crew_work["work_order"], 1000)["Location"]
    response = ana.post(location, jpeg()[:300], content_type=STREAM,
                        headers=TUS | {"Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"})
    assert response.status_code == 204 and response["Upload-Offset"] == "300"
    assert ana.post(location, headers=TUS | {"X-HTTP-Method-Override": "DELETE"}).status_code == 204
    refused = ana.post(location, headers=TUS)
    assert refused.status_code == 405 and refused.json()["code"] == "method_not_allowed"


def test_an_upload_left_too_long_is_410_and_the_sweeper_deletes_it_with_its_bytes(ana, crew_work, media, settings):
    stale_location = create(ana, crew_work["work_order"], 1000)["Location"]
    patch(ana, stale_location, 0, jpeg()[:300])
    fresh_location = create(ana, crew_work["work_order"], 1000)["Location"]
    patch(ana, fresh_location, 0, jpeg()[:300])
    stale_id, fresh_id = (uuid.UUID(x.rsplit("/", 1)[1]) for x in (stale_location, fresh_location))
    long_ago = timezone.now() - dt.timedelta(hours=settings.FIELDSVC_UPLOAD_KEEP_H + 1)
    Upload.objects.filter(pk=stale_id).update(updated_at=long_ago)
    assert ana.head(stale_location, headers=TUS).status_code == 410  # a HEAD answer has no body
    gone = patch(ana, stale_location, 300, b"x")
    assert gone.status_code == 410 and gone.json()["code"] == "expired"
    # A .part whose upload went with its user: swept too, once old.
    orphan = media / "uploads" / f"{uuid.uuid4()}.part"
    orphan.write_bytes(b"x")
    os.utime(orphan, (long_ago.timestamp(), long_ago.timestamp()))
    assert uploads.uploads_expire() == 1
    assert list(Upload.objects.values_list("pk", flat=True)) == [fresh_id]
    assert sorted(p.name for p in (media / "uploads").iterdir()) == [f"{fresh_id}.part"]
    assert ana.head(stale_location, headers=TUS).status_code == 404
    assert uploads.uploads_expire(now=timezone.now() + dt.timedelta(hours=settings.FIELDSVC_UPLOAD_KEEP_H + 1)) == 1


def test_the_same_photo_id_again_is_the_same_photo(ana, crew_work, media):
    photo_id = uuid.uuid4()
    first = send(ana, crew_work["work_order"], jpeg(1), photo_id)
    again = send(ana, crew_work["work_order"], jpeg(2), photo_id)  # a retry that re-encoded the picture
    assert first["Fieldsvc-Photo-Id"] == again["Fieldsvc-Photo-Id"] == str(photo_id)
    assert WorkOrderPhoto.objects.get().sha256 == hashlib.sha256(jpeg(1)).hexdigest()
    assert len(list((media / "work_orders").rglob("*.jpg"))) == 1 and not list((media / "uploads").iterdir())


def test_the_same_picture_twice_on_a_work_order_is_one_photo_and_on_another_work_order_two(ana, crew_work):
    wo = crew_work["work_order"]
    first = send(ana, wo, jpeg())["Fieldsvc-Photo-Id"]
    assert send(ana, wo, jpeg())["Fieldsvc-Photo-Id"] == first  # another photo_id, the same bytes
    other = WorkOrder.objects.create(department=wo.department, service=wo.service, title="Another", crew=wo.crew,
                                     status="dispatched")
    assert send(ana, other, jpeg())["Fieldsvc-Photo-Id"] != first
    assert WorkOrderPhoto.objects.count() == 2


@pytest.mark.parametrize("lon, lat, taken_at", [
    ("0", "0", "2999-01-01T00:00:00Z"),  # null island, a clock far ahead
    ("200", "42.367", "yesterday"),  # out of range, not a date
    ("nan", "42.367", "2026-02-30T10:00:00"),  # not a number, no such day
    ("-71.1043", "", ""),  # half a position, no time
])
def test_a_bad_position_or_device_time_is_dropped_and_the_photo_kept(ana, crew_work, lon, lat, taken_at):
    before = timezone.now()
    send(ana, crew_work["work_order"], jpeg(), lon=lon, lat=lat, taken_at=taken_at)
    photo = WorkOrderPhoto.objects.get()
    assert photo.position is None and before <= photo.occurred_at <= timezone.now()


def test_without_a_sign_in_only_discovery_answers(client, crew_work):
    response = client.post(URL, headers=TUS | {"Upload-Length": "10"})
    assert response.status_code == 403 and response.json()["code"] == "not_authenticated"


def test_a_token_signs_in_a_tablet(client, crew_work):
    token = Token.objects.create(user=crew_work["ana"])
    meta = tus_metadata(photo_id=str(uuid.uuid4()), work_order=str(crew_work["work_order"].pk))
    response = client.post(URL, headers=TUS | {"Authorization": f"Token {token.key}", "Upload-Length": "10",
                                               "Upload-Metadata": meta})
    assert response.status_code == 201


class Dropping(io.RawIOBase):
    """A request body whose connection resets after ``keep`` bytes (as gunicorn and Django report it)."""

    def __init__(self, data: bytes, keep: int):
        self.data, self.keep, self.sent = data, keep, 0

    def read(self, size: int = -1) -> bytes:
        if self.sent >= self.keep:
            raise UnreadablePostError("connection reset by peer")
        chunk = self.data[self.sent:min(self.keep, self.sent + size)]
        self.sent += len(chunk)
        return chunk


def test_a_read_error_mid_body_keeps_the_bytes_before_it_and_the_upload_resumes_there(crew_work):
    data, ana, wo = jpeg(), crew_work["ana"], crew_work["work_order"]
    upload = uploads.upload_create(user=ana, length=len(data), metadata={
        "photo_id": str(uuid.uuid4()), "work_order": str(wo.pk)})
    upload = uploads.upload_append(upload_id=upload.pk, user=ana, offset=0, stream=Dropping(data, keep=7000),
                                   content_length=len(data))
    assert upload.offset == 7000 and Upload.objects.get().offset == 7000
    upload = uploads.upload_append(upload_id=upload.pk, user=ana, offset=7000, stream=io.BytesIO(data[7000:]),
                                   content_length=len(data) - 7000)
    assert uploads.upload_photo(upload).sha256 == hashlib.sha256(data).hexdigest()


# --- Against a real server: a connection that really drops, and the official tus client ---------------------

def raw_patch(server_url: str, path: str, headers: dict[str, str], body: bytes, content_length: int) -> None:
    """A PATCH that announces ``content_length`` bytes, sends ``body`` (fewer) and hangs up, as a tablet
    leaving coverage does."""
    host, port = urlsplit(server_url).hostname, urlsplit(server_url).port
    head = f"PATCH {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {content_length}\r\n"
    head += "".join(f"{key}: {value}\r\n" for key, value in headers.items()) + "\r\n"
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)


def test_a_dropped_connection_keeps_what_arrived_and_the_upload_resumes_there(live_server, crew_work):
    token = Token.objects.create(user=crew_work["ana"])
    auth = {"Authorization": f"Token {token.key}"} | TUS
    data, photo_id = jpeg(size=160), uuid.uuid4()
    created = requests.post(live_server.url + URL, headers=auth | {
        "Upload-Length": str(len(data)),
        "Upload-Metadata": tus_metadata(photo_id=str(photo_id), work_order=str(crew_work["work_order"].pk))})
    assert created.status_code == 201
    location = created.headers["Location"]
    third = len(data) // 3
    raw_patch(live_server.url, location, auth | {"Content-Type": STREAM, "Upload-Offset": "0"}, data[:third],
              content_length=len(data))
    deadline, offset = time.monotonic() + 10, 0
    while offset == 0 and time.monotonic() < deadline:  # the server notices the hang-up on its own time
        time.sleep(0.05)
        head = requests.head(live_server.url + location, headers=auth)
        offset = int(head.headers["Upload-Offset"])
    assert 0 < offset <= third
    resumed = requests.patch(live_server.url + location, data=data[offset:],
                             headers=auth | {"Content-Type": STREAM, "Upload-Offset": str(offset)})
    assert resumed.status_code == 204 and resumed.headers["Fieldsvc-Photo-Id"] == str(photo_id)
    photo = WorkOrderPhoto.objects.get(pk=photo_id)
    assert photo.sha256 == hashlib.sha256(data).hexdigest() and photo.file.read() == data


def test_the_official_tus_client_uploads_a_photo_in_small_chunks(live_server, crew_work):
    token = Token.objects.create(user=crew_work["ana"])
    data, photo_id = jpeg(), uuid.uuid4()
    tus = TusClient(live_server.url + URL, headers={"Authorization": f"Token {token.key}"})
    uploader = tus.uploader(file_stream=io.BytesIO(data), chunk_size=4096, metadata={
        "photo_id": str(photo_id), "work_order": str(crew_work["work_order"].pk), "filename": "hole.jpg",
        "filetype": "image/jpeg", "taken_at": "2026-05-04T09:30:00-04:00"})
    uploader.upload()
    assert uploader.offset == len(data) and len(data) > 4 * 4096  # five PATCHes
    assert uploader.request.response_headers["fieldsvc-photo-id"] == str(photo_id)
    photo = WorkOrderPhoto.objects.get(pk=photo_id)
    assert photo.work_order == crew_work["work_order"] and photo.sha256 == hashlib.sha256(data).hexdigest()


def test_two_uploads_of_one_picture_finishing_at_once_make_one_photo(live_server, crew_work, media):
    token = Token.objects.create(user=crew_work["ana"])
    auth = {"Authorization": f"Token {token.key}"} | TUS
    data, wo = jpeg(), crew_work["work_order"]
    locations = []
    for _ in range(2):
        created = requests.post(live_server.url + URL, headers=auth | {
            "Upload-Length": str(len(data)),
            "Upload-Metadata": tus_metadata(photo_id=str(uuid.uuid4()), work_order=str(wo.pk))})
        location = live_server.url + created.headers["Location"]
        requests.patch(location, data=data[:-1], headers=auth | {"Content-Type": STREAM, "Upload-Offset": "0"})
        locations.append(location)
    last = auth | {"Content-Type": STREAM, "Upload-Offset": str(len(data) - 1)}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda url: requests.patch(url, data=data[-1:], headers=last), locations))
    assert [a.status_code for a in answers] == [204, 204]
    assert answers[0].headers["Fieldsvc-Photo-Id"] == answers[1].headers["Fieldsvc-Photo-Id"]
    assert WorkOrderPhoto.objects.count() == 1 and len(list((media / "work_orders").rglob("*.jpg"))) == 1


TUS_JS = Path(__file__).resolve().parents[2] / "node_modules" / "tus-js-client"
# The tablet app's client in Node: two 4 kB chunks, a stop (abort), then a resume from the stored URL with
# PATCH sent as POST + X-HTTP-Method-Override, as behind a proxy that drops PATCH.
TUS_JS_SCRIPT = """
const tus = require(process.env.TUS_JS);
const data = require("fs").readFileSync(process.env.PHOTO);
const base = {endpoint: process.env.ENDPOINT, headers: {Authorization: "Token " + process.env.TOKEN}, chunkSize: 4096,
              metadata: JSON.parse(process.env.METADATA), retryDelays: null};
(async () => {
  const url = await new Promise((resolve, reject) => {
    const upload = new tus.Upload(data, {...base, onError: reject, onChunkComplete: (size, sent) => {
      if (sent >= 8192) upload.abort().then(() => resolve(upload.url)); }});
    upload.start();
  });
  let photoId = null;
  await new Promise((resolve, reject) => {
    const upload = new tus.Upload(data, {...base, uploadUrl: url, overridePatchMethod: true, onError: reject,
      onSuccess: resolve, onAfterResponse: (req, res) => { photoId = res.getHeader("Fieldsvc-Photo-Id") || photoId; }});
    upload.start();
  });
  console.log(JSON.stringify({url, photoId}));
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


@pytest.mark.skipif(not (shutil.which("node") and TUS_JS.is_dir()), reason="needs node and npm's tus-js-client")
def test_the_tablet_apps_tus_js_client_stops_and_resumes_an_upload(live_server, crew_work, tmp_path):
    token = Token.objects.create(user=crew_work["ana"])
    data, photo_id = jpeg(), uuid.uuid4()
    (tmp_path / "photo.jpg").write_bytes(data)
    run = subprocess.run(["node", "-e", TUS_JS_SCRIPT], capture_output=True, text=True, timeout=60, env=os.environ | {
        "TUS_JS": str(TUS_JS), "PHOTO": str(tmp_path / "photo.jpg"), "ENDPOINT": live_server.url + URL,
        "TOKEN": token.key, "METADATA": json.dumps({"photo_id": str(photo_id), "work_order": str(
            crew_work["work_order"].pk), "filename": "hole.jpg", "filetype": "image/jpeg"})})
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["photoId"] == str(photo_id)
    assert Upload.objects.count() == 1  # resumed, not started again
    assert WorkOrderPhoto.objects.get(pk=photo_id).sha256 == hashlib.sha256(data).hexdigest()
