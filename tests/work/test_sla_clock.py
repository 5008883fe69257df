"""SLA clocks without a database: calendar and business hours, weekends, holidays, time zones."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from workorders.sla import WeekInvalid, due_at, elapsed, week_parse

BOSTON = ZoneInfo("America/New_York")
CITY_WEEK = {str(d): [["07:00", "15:30"]] for d in range(1, 6)}  # 8.5 h a day, Monday to Friday


def at(y, m, d, h=0, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=BOSTON)


def test_calendar_hours_run_around_the_clock():
    assert due_at(at(2026, 11, 20, 14), 72, week=None) == at(2026, 11, 23, 14)


def test_business_hours_skip_the_weekend():
    week = week_parse(CITY_WEEK, zone="America/New_York")
    friday_2pm = at(2026, 11, 20, 14)  # 1.5 h left on Friday
    assert due_at(friday_2pm, 8, week=week) == at(2026, 11, 23, 13, 30)  # 6.5 h into Monday
    assert elapsed(friday_2pm, at(2026, 11, 23, 13, 30), week=week) == dt.timedelta(hours=8)


def test_business_hours_skip_a_holiday_after_the_weekend():
    week = week_parse(CITY_WEEK, zone="America/New_York", holidays=[dt.date(2026, 11, 23)])
    assert due_at(at(2026, 11, 20, 14), 8, week=week) == at(2026, 11, 24, 13, 30)
    # Thanksgiving (Thu 26) and the Friday after: 16 business hours from Wednesday noon end Tuesday.
    week = week_parse(CITY_WEEK, zone="America/New_York",
                      holidays=[dt.date(2026, 11, 26), dt.date(2026, 11, 27)])
    assert due_at(at(2026, 11, 25, 12), 16, week=week) == at(2026, 12, 1, 11)  # 3.5 Wed + 8.5 Mon + 4 Tue


def test_a_start_outside_working_hours_waits_for_the_next_span():
    week = week_parse(CITY_WEEK, zone="America/New_York")
    assert due_at(at(2026, 11, 21, 10), 1, week=week) == at(2026, 11, 23, 8)  # Saturday -> Monday 08:00
    assert due_at(at(2026, 11, 23, 5), 1, week=week) == at(2026, 11, 23, 8)  # before the shift
    assert due_at(at(2026, 11, 23, 18), 0.5, week=week) == at(2026, 11, 24, 7, 30)  # after it


def test_split_days_and_round_the_clock_days():
    week = week_parse({"1": [["13:00", "17:00"], ["08:00", "12:00"]], "6": [["00:00", "24:00"]]}, zone="UTC")
    utc = dt.UTC
    assert due_at(dt.datetime(2026, 11, 23, 11, tzinfo=utc), 2, week=week) == dt.datetime(2026, 11, 23, 14,
                                                                                        tzinfo=utc)
    # 1 h left on Monday, then all of Saturday ("24:00"): due at midnight, Sunday 00:00.
    assert due_at(dt.datetime(2026, 11, 23, 16, tzinfo=utc), 25, week=week) == dt.datetime(2026, 11, 29,
                                                                                         tzinfo=utc)


def test_across_the_daylight_saving_change_business_hours_are_wall_clock_hours():
    week = week_parse(CITY_WEEK, zone="America/New_York")
    friday = at(2026, 10, 30, 15)  # DST ends Sunday 1 November
    assert due_at(friday, 1, week=week) == at(2026, 11, 2, 7, 30)
    assert due_at(friday, 1, week=week).utcoffset() == dt.timedelta(hours=-5)


def test_elapsed_counts_only_working_time_and_never_goes_negative():
    week = week_parse(CITY_WEEK, zone="America/New_York")
    assert elapsed(at(2026, 11, 20, 15), at(2026, 11, 22, 20), week=week) == dt.timedelta(minutes=30)
    assert elapsed(at(2026, 11, 22), at(2026, 11, 20), week=week) == dt.timedelta(0)
    assert elapsed(at(2026, 11, 20, 15), at(2026, 11, 22, 20), week=None) == dt.timedelta(hours=53)


@pytest.mark.parametrize(("raw", "message"), [
    ({"8": [["07:00", "15:00"]]}, "not an ISO weekday"),
    ({"1": [["15:00", "07:00"]]}, "ends before it starts"),
    ({"1": [["07:00", "12:00"], ["11:00", "15:00"]]}, "overlap"),
    ({"1": [["7am", "3pm"]]}, "not a time"),
    ({"1": [["07:00"]]}, "each span is [start, end]"),
    ({"1": []}, "no working hours"),
    ([], "object of ISO weekday"),
])
def test_bad_weeks_are_refused_with_the_reason(raw, message):
    with pytest.raises(WeekInvalid, match=message.replace("[", r"\[").replace("]", r"\]")):
        week_parse(raw)
