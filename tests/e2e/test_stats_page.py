"""The public statistics page in headless Chromium: its charts and choropleth draw the API's numbers, the
server-rendered tables agree with them, the CSV and GeoJSON downloads are the API's, all offline."""

import csv
import io
import json

import pytest
from PIL import Image

from tests.e2e.conftest import screenshot
from tests.stats.dataset import WINDOW, stats_dataset

pytestmark = pytest.mark.django_db(transaction=True)  # the browser reads through the live server's threads
PAGE = f"/stats/?start={WINDOW['start']}&end={WINDOW['end']}"


def wait_drawn(page) -> None:
    """Wait until the page has fetched and drawn everything (or shown why not)."""
    page.wait_for_function("window.fieldsvcStats && window.fieldsvcStats.done", timeout=30_000)


@pytest.fixture
def stats_page(browser_page, registry):
    stats_dataset()
    response = browser_page.goto(PAGE)
    assert response.status == 200
    wait_drawn(browser_page)
    return browser_page


def api(client, path: str, **params) -> dict:
    response = client.get(path, {**WINDOW, **params})
    assert response.status_code == 200
    return response.json()


def table(page, table_id: str) -> dict[str, list[str]]:
    """A server-rendered table's body rows by data-key: the cells' texts."""
    return page.evaluate("""id => Object.fromEntries([...document.querySelectorAll(`#${id} tr[data-key]`)]
        .map(tr => [tr.dataset.key, [...tr.querySelectorAll('td')].map(td => td.textContent.trim())]))""", table_id)


def chart_data(page, canvas_id: str) -> dict:
    return page.evaluate("""id => { const chart = Chart.getChart(document.getElementById(id));
        const ctx = chart.canvas.getContext('2d');
        const pixels = ctx.getImageData(0, 0, chart.canvas.width, chart.canvas.height).data;
        let inked = 0; for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked += 1;
        return {labels: chart.data.labels, data: chart.data.datasets.map(d => d.data), inked}; }""", canvas_id)


def cell(value) -> str:
    return "–" if value is None else str(value)


def test_charts_draw_the_api_numbers_and_the_tables_agree(stats_page, client):
    page = stats_page
    assert page.seen_hosts <= {"localhost"} and page.errors == []
    assert page.evaluate("window.fieldsvcStats.errors") == []

    sla = api(client, "/api/stats/sla", by="service")
    drawn = chart_data(page, "chart-sla-service")
    assert drawn["labels"] == [r["label"] for r in sla["rows"]] and drawn["data"] == [[66.7, 50.0, 100.0]]
    assert drawn["inked"] > 1000
    assert table(page, "table-sla-service") == {r["key"]: [str(r["closed"]), str(r["on_time"]), cell(
        r["percent_on_time"]), str(r["open_overdue"])] for r in sla["rows"]} | {"all": ["6", "4", "66.7", "1"]}
    assert page.text_content("#sla-total-percent") == f"{sla['total']['percent_on_time']}%"

    departments = api(client, "/api/stats/sla", by="department")
    drawn = chart_data(page, "chart-sla-department")
    assert drawn["data"] == [[r["percent_on_time"] for r in departments["rows"]]] and drawn["inked"] > 1000
    assert {k: v[2] for k, v in table(page, "table-sla-department").items()} == {
        r["key"]: cell(r["percent_on_time"]) for r in departments["rows"]}

    ttc = api(client, "/api/stats/time-to-close")
    drawn = chart_data(page, "chart-time-to-close")
    assert drawn["data"] == [[ttc["rows"][0][b["column"]] for b in ttc["bins"]]] == [[2, 2, 1, 1, 0, 0, 0]]
    assert drawn["inked"] > 1000
    assert page.text_content("#ttc-median") == "40.0" and page.text_content("#ttc-p90") == "150.0"
    assert table(page, "table-time-to-close") == {r["key"]: [str(r["closed"]), cell(r["median_hours"]),
                                                             cell(r["p90_hours"])] for r in ttc["rows"][1:]}

    trends = api(client, "/api/stats/trends", interval="week")  # a month's window is drawn by week
    drawn = chart_data(page, "chart-trends")
    assert drawn["labels"] == [r["period"] for r in trends["rows"]] == ["2026-03-02", "2026-03-09"]
    assert drawn["data"] == [[8, 0], [6, 1]] and drawn["inked"] > 1000
    assert table(page, "table-trends") == {r["period"]: [str(r["opened"]), str(r["closed"])] for r in trends["rows"]}

    rates = api(client, "/api/stats/neighbourhoods")
    assert page.evaluate("window.fieldsvcStats.data.neighbourhoods") == rates["rows"]
    assert table(page, "table-neighbourhoods") == {str(r["key"]): [cell(r["population"]), str(r["requests"]),
                                                                   cell(r["per_1000"])] for r in rates["rows"]}
    screenshot(page, "stats")


def test_the_choropleth_shades_neighbourhoods_by_their_rate(stats_page, tmp_path):
    page = stats_page
    drawn = page.evaluate("""() => window.fieldsvcStats.map.queryRenderedFeatures({layers: ['rate']})
        .map(f => f.properties.name)""")
    assert set(drawn) == {"North", "South", "Harbour"}
    page.locator("#map").scroll_into_view_if_needed()
    shot = tmp_path / "map.png"
    page.locator("#map").screenshot(path=str(shot))
    colours = Image.open(shot).convert("RGB").getcolors(1_000_000)
    # Two rates make two classes: North (2.5) the palest blue #eff3ff, South (6.0) the next, #bdd7e7; Harbour
    # (no population) grey #c8c8c8. Each drawn at 0.85 opacity over the background #dfe6ee: the targets below.
    def covered(target, tol=8):
        return sum(n for n, rgb in colours if all(abs(a - b) <= tol for a, b in zip(rgb, target, strict=True)))

    assert covered((237, 241, 252)) > 2000  # North
    assert covered((194, 217, 232)) > 2000  # South
    assert covered((203, 204, 206)) > 2000  # Harbour
    assert page.text_content("#map-legend") == "2.5 to under 6 per 1,0006 to 6 per 1,000no population"
    page.locator("#map").screenshot(path=str(screenshot(page, "stats").with_name("stats-map.png")))


def test_downloads_are_the_api_numbers(stats_page, client):
    page = stats_page
    with page.expect_download() as download:
        page.click("#sla a:has-text('CSV') >> nth=0")
    assert download.value.suggested_filename == "fieldsvc-sla-by-service.csv"
    lines = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    rows = api(client, "/api/stats/sla", by="service")["rows"]
    assert [(line["key"], line["closed"], line["percent_on_time"]) for line in lines] == [
        (r["key"], str(r["closed"]), str(r["percent_on_time"])) for r in rows]

    with page.expect_download() as download:
        page.click("#neighbourhoods a:has-text('GeoJSON')")
    assert download.value.suggested_filename == "fieldsvc-requests-per-1000.geojson"
    collection = json.loads(open(download.value.path()).read())
    assert [f["properties"] for f in collection["features"]] == api(client, "/api/stats/neighbourhoods")["rows"]

    with page.expect_download() as download:
        page.click("#trends a:has-text('CSV')")
    assert open(download.value.path()).read() == client.get(
        "/api/stats/trends", {**WINDOW, "interval": "week", "format": "csv"}).content.decode()


def test_the_filters_reload_the_page_for_one_service_group(stats_page):
    page = stats_page
    page.select_option("#group", "other")
    with page.expect_navigation():
        page.click("form.filters button")
    wait_drawn(page)
    assert "group=other" in page.url
    assert list(table(page, "table-sla-service")) == ["graffiti", "all"]
    assert chart_data(page, "chart-sla-service")["data"] == [[100.0]]
    assert page.evaluate("window.fieldsvcStats.errors") == [] and page.errors == []
    screenshot(page, "stats-group")


def test_a_period_without_requests_draws_empty_charts_without_errors(browser_page, registry):
    stats_dataset()
    assert browser_page.goto("/stats/?start=2020-01-01&end=2020-01-31").status == 200
    wait_drawn(browser_page)
    assert browser_page.evaluate("window.fieldsvcStats.errors") == [] and browser_page.errors == []
    assert chart_data(browser_page, "chart-trends")["labels"] == []
    assert chart_data(browser_page, "chart-time-to-close")["data"] == [[0, 0, 0, 0, 0, 0, 0]]
    assert browser_page.text_content("#ttc-median") == "–"
    assert "No requests in this period." in browser_page.text_content("#table-trends")
    # Every neighbourhood at 0: one class, the palest.
    assert browser_page.text_content("#map-legend") == "0 to 0 per 1,000no population"
    screenshot(browser_page, "stats-empty")
