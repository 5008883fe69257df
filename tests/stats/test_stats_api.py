"""The statistics API and page: JSON, CSV and GeoJSON carry the same numbers; bad filters are JSON 400s;
nothing personal leaves; the page's server-rendered tables show the selectors' numbers."""

import csv
import io
import json

import pytest

from tests.stats.dataset import WINDOW, stats_dataset

pytestmark = pytest.mark.django_db
ENDPOINTS = [("/api/stats/sla", {"by": "service"}), ("/api/stats/sla", {"by": "department"}),
             ("/api/stats/time-to-close", {}), ("/api/stats/neighbourhoods", {}),
             ("/api/stats/trends", {"interval": "week"}), ("/api/stats/trends", {"interval": "month"})]


@pytest.fixture
def districts(registry):
    return stats_dataset()


def as_text(value) -> str:
    return "" if value is None else str(value)


@pytest.mark.parametrize("url, params", ENDPOINTS)
def test_csv_download_has_exactly_the_json_rows(client, districts, url, params, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        body = client.get(url, {**params, **WINDOW}).json()
    response = client.get(url, {**params, **WINDOW, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="fieldsvc-')
    assert response["Cache-Control"] == "public, max-age=300"
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert body["rows"] and len(table) == len(body["rows"])
    for row, line in zip(body["rows"], table, strict=True):
        assert line == {column: as_text(row[column]) for column in line}
        assert set(line) <= set(row)


def test_geojson_download_has_the_json_rows_as_properties(client, districts):
    body = client.get("/api/stats/neighbourhoods", WINDOW).json()
    response = client.get("/api/stats/neighbourhoods", {**WINDOW, "format": "geojson"})
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    collection = json.loads(response.content)
    assert collection["type"] == "FeatureCollection"
    assert [f["properties"] for f in collection["features"]] == body["rows"]
    assert [f["properties"]["per_1000"] for f in collection["features"]] == [2.5, 6.0, None]
    assert {f["geometry"]["type"] for f in collection["features"]} == {"Polygon"}


def test_json_bodies_carry_the_window_and_the_totals(client, districts):
    body = client.get("/api/stats/sla", {"by": "service", "group": "streets", **WINDOW}).json()
    assert (body["by"], body["start"], body["end"], body["group"]) == ("service", "2026-03-01", "2026-03-31", "streets")
    assert [row["key"] for row in body["rows"]] == ["pothole", "streetlight-outage"]
    assert body["total"]["percent_on_time"] == 60.0  # 3 of 5
    ttc = client.get("/api/stats/time-to-close", WINDOW).json()
    assert [b["column"] for b in ttc["bins"]][0] == "under_1_day" and ttc["rows"][0]["median_hours"] == 40.0


@pytest.mark.parametrize("url, params, field", [
    ("/api/stats/sla", {"by": "neighbourhood"}, "by"),
    ("/api/stats/sla", {"start": "2026-04-01", "end": "2026-03-01"}, "end"),
    ("/api/stats/time-to-close", {"start": "March"}, "start"),
    ("/api/stats/neighbourhoods", {"group": "no-such-group"}, "group"),
    ("/api/stats/trends", {"interval": "day"}, "interval"),
])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_bad_parameters_are_json_400s_naming_the_field_even_for_csv(client, districts, url, params, field, fmt):
    response = client.get(url, {**params, "format": fmt})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert field in response.json()


@pytest.mark.parametrize("url, params", ENDPOINTS)
def test_nothing_personal_in_any_format(client, districts, url, params):
    for fmt in ("json", "csv") + (("geojson",) if "neighbourhoods" in url else ()):
        text = client.get(url, {**params, "format": fmt}).content.decode()
        assert "resident@example.org" not in text and "Private" not in text and "private words" not in text
        assert "S-1" not in text  # no request numbers either


def test_the_page_renders_the_numbers_as_tables_without_javascript(client, districts,
                                                                    django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = client.get("/stats/", {**WINDOW, "group": "streets"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="streets" selected>' in html
    assert 'id="sla-total-percent">60.0%<' in html
    assert '<tr data-key="pothole"><th scope="row">Pothole</th><td>3</td><td>2</td>' in html
    assert "/api/stats/neighbourhoods?start=2026-03-01&amp;end=2026-03-31&amp;group=streets&amp;format=geojson" in html
    assert "resident@example.org" not in html


@pytest.mark.parametrize("params, message", [({"start": "2026-05-01", "end": "2026-04-01"}, "end is before start"),
                                             ({"group": "nope"}, "no service group"), ({"start": "May"}, "start:")])
def test_the_page_says_which_filter_was_wrong_and_shows_the_default_year(client, districts, params, message):
    response = client.get("/stats/", params)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errors" role="alert"><strong>' in html and message in html
    assert 'id="table-neighbourhoods"' in html
