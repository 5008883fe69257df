"""Tile coordinates and uploads fuzzed: z/x/y out of range, negative, huge or not numbers, TileJSON of any
layer name; Open311 photos and tus photo uploads of the wrong type, too big, empty, or with a lying
Content-Type. Every refusal is a 4xx with a JSON (or Open311) body and leaves nothing stored."""

import base64
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.support import answered
from tiles.layers import LAYERS

pytestmark = pytest.mark.django_db

COORD = st.one_of(st.integers(-3, 30), st.integers(-(10**12), 10**12), st.sampled_from(
    ["-0", "00", "1e3", "0x1", "١", "%00", "9" * 40, "", "-", "+1", "1.5", "nan"]))
LAYER = st.one_of(st.sampled_from(sorted(LAYERS)), st.text(max_size=20))
TUS = {"Tus-Resumable": "1.0.0"}

# Real file heads (and what they are not): a JPEG and PNG signature, HTML, a PDF, a zip, an SVG with script.
HEADS = {"jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
         "html": b"<html><script>alert(1)</script>", "pdf": b"%PDF-1.7\n", "zip": b"PK\x03\x04",
         "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "empty": b""}
CLAIMED = st.sampled_from(["image/jpeg", "image/png", "text/html", "application/pdf", "image/svg+xml",
                           "application/octet-stream", "", "image/jpeg; charset=utf-8", "image/../../etc"])


@given(layer=LAYER, z=COORD, x=COORD, y=COORD, staff=st.booleans())
def test_any_tile_address_is_a_tile_or_a_clean_refusal(city, client, layer, z, x, y, staff):
    headers = {"Authorization": city["dispatcher"]} if staff else {}
    if staff:
        client.force_login(city["people"]["dana"])
    response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", headers=headers)
    answered("tiles", response, f"tile {layer}/{z}/{x}/{y}")
    assert response.status_code in (200, 204, 304, 400, 404), response.status_code


@given(layer=LAYER)
def test_any_tilejson_name_is_a_tilejson_or_a_clean_404(city, client, layer):
    response = client.get(f"/tiles/{layer}.json")
    answered("tiles", response, f"tilejson {layer!r}")


@given(head=st.sampled_from(sorted(HEADS)), tail=st.binary(max_size=64), claimed=CLAIMED,
       name=st.sampled_from(["a.jpg", "a.png", "a.html", "../../a.jpg", "", "a" * 300 + ".jpg", "a.jpg\x00.php"]),
       oversize=st.booleans())
def test_open311_photos_of_any_kind_are_stored_or_refused_cleanly(city, snapshot, client, settings, head, tail,
                                                                   claimed, name, oversize):
    settings.FIELDSVC_MEDIA_MAX_BYTES = 32 if oversize else 1024 * 1024
    # Padded to 16 bytes: the random tail must not spell a real signature (HEIC's sits at bytes 4-12).
    data = HEADS[head].ljust(16, b"\0") + tail if head != "empty" else b""
    media = SimpleUploadedFile(name or "x", data, content_type=claimed or "application/octet-stream")
    before = snapshot()
    response = client.post("/open311/v2/requests.json", {
        "api_key": city["api_key"], "service_code": "streetlight-outage", "lat": "42.3670", "long": "-71.1043",
        "description": "Light out", "media": media})
    answered("uploads", response, f"open311 media {head} {claimed} {name!r} {len(data)} B", before=before,
             snapshot=snapshot)
    if head in ("html", "pdf", "zip", "svg", "empty") or len(data) > settings.FIELDSVC_MEDIA_MAX_BYTES:
        assert response.status_code == 400, (head, claimed, response.content[:200])


def _metadata(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


@given(length=st.one_of(st.integers(-5, 10**12), st.sampled_from(["", "x", "1e3", "-0", "9" * 30])),
       head=st.sampled_from(sorted(HEADS)), claimed=CLAIMED, offset=st.one_of(st.integers(-2, 64), st.just("x")),
       stream_type=st.sampled_from(["application/offset+octet-stream", "image/jpeg", "text/plain"]),
       metadata=st.one_of(st.just(None), st.text(max_size=40)))
def test_tus_uploads_of_any_kind_are_taken_or_refused_cleanly(city, snapshot, client, settings, tmp_path, length,
                                                              head, claimed, offset, stream_type, metadata):
    settings.FIELDSVC_MEDIA_MAX_BYTES = 4096
    auth = {"Authorization": city["crew_member"]}
    wo = city["work_orders"][0]
    meta = metadata if metadata is not None else _metadata(
        photo_id=str(uuid.uuid4()), work_order=str(wo.pk), filename="p.jpg", filetype=claimed)
    before = snapshot()
    created = client.post("/api/field/uploads/", headers=TUS | auth | {"Upload-Length": str(length),
                                                                        "Upload-Metadata": meta})
    answered("uploads", created, f"tus create length={length!r} meta={meta!r}", before=before, snapshot=snapshot)
    if created.status_code != 201:
        return
    data = HEADS[head]
    before = snapshot()
    sent = client.generic("PATCH", created["Location"], data, content_type=stream_type,
                          headers=TUS | auth | {"Upload-Offset": str(offset)}, CONTENT_LENGTH=str(len(data)))
    answered("uploads", sent, f"tus patch {head} offset={offset!r} type={stream_type}")
    assert sent.status_code < 500
