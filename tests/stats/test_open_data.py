"""The statistics' numbers on a small known history (tests/stats/dataset.py: each figure worked out by hand)."""

import datetime as dt

import pytest

from tests.stats.dataset import stats_dataset
from workorders import open_data
from workorders.open_data import Window, close_time_list, neighbourhood_rate_list, request_trend_list

pytestmark = pytest.mark.django_db
NY = dt.timezone(dt.timedelta(hours=-5))  # Boston in March before the 8th: EST
MARCH = Window(start=dt.datetime(2026, 3, 1, tzinfo=NY), end=dt.datetime(2026, 4, 1, tzinfo=dt.timezone(
    dt.timedelta(hours=-4))))


@pytest.fixture
def districts(registry):
    return stats_dataset()


def by_key(rows):
    return {row["key"]: row for row in rows}


def test_attainment_counts_reports_closed_by_their_target_per_service(districts):
    rows = open_data.sla_attainment_list(by="service", window=MARCH)
    assert [row["key"] for row in rows] == ["pothole", "streetlight-outage", "graffiti"]  # most closed first
    pothole, light, graffiti = rows
    # Potholes closed in 10, 30 and 100 h against 48 h; the duplicate and January's are not counted.
    assert (pothole["closed"], pothole["on_time"], pothole["late"], pothole["percent_on_time"]) == (3, 2, 1, 66.7)
    assert pothole["open_overdue"] == 1
    assert (light["closed"], light["on_time"], light["percent_on_time"], light["open_overdue"]) == (2, 1, 50.0, 0)
    assert (graffiti["closed"], graffiti["on_time"], graffiti["percent_on_time"]) == (1, 1, 100.0)
    total = open_data.sla_attainment_total(rows)
    assert (total["closed"], total["on_time"], total["percent_on_time"], total["open_overdue"]) == (6, 4, 66.7, 1)


def test_attainment_per_department_and_for_one_service_group(districts):
    rows = by_key(open_data.sla_attainment_list(by="department", window=MARCH))
    assert (rows["public-works"]["closed"], rows["public-works"]["on_time"], rows["public-works"]["percent_on_time"]) \
        == (4, 3, 75.0)
    assert (rows["street-lighting"]["closed"], rows["street-lighting"]["percent_on_time"]) == (2, 50.0)
    streets = by_key(open_data.sla_attainment_list(by="department", window=Window(MARCH.start, MARCH.end, "streets")))
    assert (streets["public-works"]["closed"], streets["public-works"]["percent_on_time"]) == (3, 66.7)


def test_time_to_close_medians_percentiles_and_bins(districts):
    total, pothole, *rest = close_time_list(window=MARCH)
    # Hours 5, 10, 30, 50, 100, 200: the median halfway between 30 and 50; the 90th percentile (continuous,
    # position 0.9 x 5 = 4.5) halfway between 100 and 200.
    assert (total["key"], total["closed"], total["median_hours"], total["p90_hours"]) == ("all", 6, 40.0, 150.0)
    assert [total[c] for c in ("under_1_day", "days_1_3", "days_3_7", "days_7_14", "days_14_30", "days_30_90",
                               "over_90_days")] == [2, 2, 1, 1, 0, 0, 0]
    # Potholes 10, 30, 100 h: median 30; p90 at position 1.8, 30 + 0.8 x 70 = 86.
    assert (pothole["key"], pothole["closed"], pothole["median_hours"], pothole["p90_hours"]) \
        == ("pothole", 3, 30.0, 86.0)
    assert {row["key"]: row["median_hours"] for row in rest} == {"streetlight-outage": 125.0, "graffiti": 5.0}


def test_requests_per_1000_residents_lowest_first_without_population_last(districts):
    rows = neighbourhood_rate_list(window=MARCH)
    # North: 5 potholes (the duplicate too; not the inquiry nor January's) / 2,000; South 3 / 500.
    assert [(r["name"], r["requests"], r["population"], r["per_1000"]) for r in rows] == [
        ("North", 5, 2000, 2.5), ("South", 3, 500, 6.0), ("Harbour", 0, None, None)]
    streets = neighbourhood_rate_list(window=Window(MARCH.start, MARCH.end, "streets"))
    assert [(r["name"], r["per_1000"]) for r in streets] == [("North", 2.5), ("South", 4.0), ("Harbour", None)]


def test_neighbourhood_outlines_are_wgs84_geojson(districts):
    import json

    rows = neighbourhood_rate_list(window=MARCH, geometry=True)
    outline = json.loads(rows[0]["outline"])
    lon, lat = outline["coordinates"][0][0]
    assert outline["type"] == "Polygon" and -71.07 < lon < -71.04 and 42.35 < lat < 42.37


def test_trends_count_opened_and_closed_per_month_and_week(districts):
    assert request_trend_list(interval="month", window=MARCH) == [{"period": "2026-03-01", "opened": 8, "closed": 7}]
    # Everything but the 200 h street light (closed Tuesday 10 March) closed in the week of Monday 2 March.
    assert request_trend_list(interval="week", window=MARCH) == [
        {"period": "2026-03-02", "opened": 8, "closed": 6}, {"period": "2026-03-09", "opened": 0, "closed": 1}]
    everything = request_trend_list(interval="month", window=Window())
    assert everything[0] == {"period": "2026-01-01", "opened": 1, "closed": 1}
