"""QGIS itself (Debian's PyQGIS 3.22, headless) reads a layer over WFS 2.0 and edits it over WFS-T."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import Point

from gis import crs, editing
from gis.models import Asset, AssetType, EditRecord

CLIENT = Path(__file__).resolve().parent / "qgis_client.py"
DEBIAN_PYTHON = "/usr/bin/python3"  # PyQGIS is built for the system Python, not the project's virtualenv


@pytest.mark.django_db(transaction=True)
def test_qgis_reads_and_edits_a_layer(live_server, registry):
    user = User.objects.create_user("clerk", password="clerk-pass-1", is_staff=True)
    user.groups.add(editing.gis_editors_group())
    streetlight = AssetType.objects.get(code="streetlight")
    x, y = crs.storage_point(-71.1043, 42.3670)
    for external_id, dx in [("L-near", 10), ("DEL-ME", 20), ("L-far", 900)]:
        Asset.objects.create(asset_type=streetlight, external_id=external_id,
                             geom=Point(x + dx, y, srid=crs.storage_srid()))
    run = subprocess.run([DEBIAN_PYTHON, str(CLIENT), f"{live_server.url}/wfs/", "clerk", "clerk-pass-1", str(x),
                          str(y)], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    print(seen, file=sys.stderr)
    assert seen["valid"] and seen["crs"] == f"EPSG:{crs.storage_srid()}" and seen["editable"]
    assert {"external_id", "status", "condition", "install_date"} <= set(seen["fields"])
    assert seen["all"] == ["DEL-ME", "L-far", "L-near"]  # read in pages of 2
    assert seen["in_box"] == ["DEL-ME", "L-near"]
    assert seen["insert_committed"] and seen["insert_seen"] == 1
    assert seen["update_committed"] and seen["delete_committed"]
    new = Asset.objects.get(external_id="Q-1")
    assert new.condition == 40 and new.geom.coords == pytest.approx((x + 6, y + 8))
    assert not Asset.objects.filter(external_id="DEL-ME").exists()
    assert not seen["bad_committed"] and not Asset.objects.filter(external_id="NULL-ISLAND").exists()
    assert not seen["wrong_password_valid"] and seen["right_password_valid"]
    trail = EditRecord.objects.filter(username="clerk")
    assert sorted(trail.values_list("action", flat=True)) == ["delete", "insert", "update", "update"]
