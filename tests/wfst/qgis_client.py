"""Run by Debian's python3 with PyQGIS (QGIS 3.22, headless): reads a WFS layer and edits it the way a GIS
clerk does in QGIS (editing buffer, commit), printing what happened as JSON. Usage: url user password x y."""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsPointXY,
    QgsRectangle,
    QgsVectorDataProvider,
    QgsVectorLayer,
)

url, user, password, x, y = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
app = QgsApplication([], False)
app.initQgis()
out = {}


def layer(typename: str, password: str = password, base: str = url) -> QgsVectorLayer:
    uri = (f"url='{base}' typename='{typename}' version='2.0.0' username='{user}' password='{password}' "
           "pagingEnabled='true' pageSize='2'")
    return QgsVectorLayer(uri, typename, "WFS")


lights = layer("fieldsvc:asset_streetlight")
out["valid"] = lights.isValid()
out["crs"] = lights.crs().authid()
out["fields"] = [f.name() for f in lights.fields()]
caps = lights.dataProvider().capabilities()
out["editable"] = all(bool(caps & c) for c in (QgsVectorDataProvider.AddFeatures,
                                                QgsVectorDataProvider.ChangeAttributeValues,
                                                QgsVectorDataProvider.ChangeGeometries,
                                                QgsVectorDataProvider.DeleteFeatures))
out["all"] = sorted(f["external_id"] for f in lights.getFeatures())
box = QgsRectangle(x - 30, y - 30, x + 30, y + 30)
out["in_box"] = sorted(f["external_id"] for f in lights.getFeatures(QgsFeatureRequest().setFilterRect(box)))

lights.startEditing()
new = QgsFeature(lights.fields())
new["external_id"], new["status"], new["condition"] = "Q-1", "active", 80
new.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x + 3, y + 4)))
lights.addFeature(new)
out["insert_committed"] = lights.commitChanges()
inserted = [f for f in lights.getFeatures() if f["external_id"] == "Q-1"]
out["insert_seen"] = len(inserted)

lights.startEditing()
target = inserted[0]
lights.changeAttributeValue(target.id(), lights.fields().indexOf("condition"), 40)
lights.changeGeometry(target.id(), QgsGeometry.fromPointXY(QgsPointXY(x + 6, y + 8)))
out["update_committed"] = lights.commitChanges()

lights.startEditing()
old = [f for f in lights.getFeatures() if f["external_id"] == "DEL-ME"]
lights.deleteFeature(old[0].id())
out["delete_committed"] = lights.commitChanges()

lights.startEditing()
bad = QgsFeature(lights.fields())
bad["external_id"] = "NULL-ISLAND"
bad.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(0, 0)))  # far outside the storage CRS's area
lights.addFeature(bad)
out["bad_committed"] = lights.commitChanges()
out["bad_errors"] = lights.commitErrors()
lights.rollBack()

# Another spelling of the same server: QGIS keeps the capabilities it fetched per URL, and would open the
# layer from them without asking the server again.
other = url.replace("localhost", "127.0.0.1") if "localhost" in url else url.replace("127.0.0.1", "localhost")
out["wrong_password_valid"] = layer("fieldsvc:asset_streetlight", "wrong", other).isValid()
out["right_password_valid"] = layer("fieldsvc:asset_streetlight", password, other).isValid()  # the control
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down its providers; what we needed is printed
