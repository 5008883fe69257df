"""An Open311 client library from PyPI (georeport) drives the running server over HTTP, in both formats."""

import pytest
from georeport import GeoReport

from tests.geo import CAMBRIDGE_CITY_HALL_WGS84
from workorders.models import ServiceRequest

LON, LAT = CAMBRIDGE_CITY_HALL_WGS84


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_lists_defines_and_reads_requests(live_server, catalogue, api_key, fmt, settings):
    import requests

    client = GeoReport(f"{live_server.url}/open311/v2", jurisdiction=settings.FIELDSVC_OPEN311_JURISDICTION,
                       api_key=api_key, output_format=fmt)
    codes = {s["service_code"] for s in client.get_service_list()}
    assert {"pothole", "streetlight-outage"} <= codes
    definition = client.get_service_definition("pothole")
    assert definition["service_code"] == "pothole"
    # georeport 0.3 has no POST helper: submit as its users would, with requests and the same key.
    created = requests.post(f"{live_server.url}/open311/v2/requests.json", data={
        "api_key": api_key, "service_code": "streetlight-outage", "lat": LAT, "long": LON, "description": "out",
    }, timeout=10)
    assert created.status_code == 201
    request_id = created.json()[0]["service_request_id"]
    one = client.get_service_request(request_id)
    assert one["service_request_id"] == request_id and one["status"] == "open"
    listed = client.get_service_requests(service_request_id=request_id)
    listed = listed if isinstance(listed, list) else [listed]  # xmltodict gives a dict for one item
    assert [r["service_request_id"] for r in listed] == [request_id]
    assert ServiceRequest.objects.filter(pk=request_id).exists()
