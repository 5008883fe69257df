"""Service-level clocks: due times and elapsed time in calendar or business hours.

Pure: a Week (working spans per ISO weekday, in the calendar's time zone) and a set of holidays
in, datetimes out. Business hours count only working spans on non-holidays, so 8 business hours
from Friday 14:00 on a 07:00-15:30 week end on Monday at 13:30 (Tuesday if Monday is a holiday).
Clock changes are handled by working in local wall time and converting at the edges.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo


class WeekInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Week:
    spans: dict[int, tuple[tuple[dt.time, dt.time], ...]]  # ISO weekday -> sorted, non-overlapping spans
    zone: ZoneInfo
    holidays: frozenset[dt.date] = frozenset()

    def working_spans(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The day's working spans as aware datetimes (none on a holiday)."""
        if day in self.holidays:
            return ()
        return tuple((_local(day, start, self.zone), _local(day, end, self.zone))
                     for start, end in self.spans.get(day.isoweekday(), ()))


def _local(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    if at == dt.time.max:  # "24:00": the end of the day
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return dt.datetime.combine(day, at, tzinfo=zone)


def week_parse(raw: dict, *, zone: str = "UTC", holidays: Iterable[dt.date] = ()) -> Week:
    """{"1": [["07:00", "15:30"]], …} (ISO weekdays; "24:00" ends a day) into a Week; WeekInvalid says why not."""
    if not isinstance(raw, dict):
        raise WeekInvalid("the week is an object of ISO weekday -> [[start, end], …]")
    spans: dict[int, tuple[tuple[dt.time, dt.time], ...]] = {}
    for key, day_spans in raw.items():
        if str(key) not in {str(n) for n in range(1, 8)}:
            raise WeekInvalid(f"{key!r} is not an ISO weekday (1 Monday … 7 Sunday)")
        parsed = []
        for span in day_spans or []:
            if not isinstance(span, list | tuple) or len(span) != 2:
                raise WeekInvalid(f"day {key}: each span is [start, end], got {span!r}")
            start, end = (_time(value, key) for value in span)
            if end != dt.time.max and end <= start:
                raise WeekInvalid(f"day {key}: {span[0]}-{span[1]} ends before it starts")
            parsed.append((start, end))
        parsed.sort()
        for (_, end), (start, _) in zip(parsed, parsed[1:], strict=False):
            if start < end:
                raise WeekInvalid(f"day {key}: spans overlap")
        spans[int(key)] = tuple(parsed)
    if not any(spans.values()):
        raise WeekInvalid("the week has no working hours")
    return Week(spans, ZoneInfo(zone), frozenset(holidays))


def _time(value, day) -> dt.time:
    if value == "24:00":
        return dt.time.max
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError as exc:
        raise WeekInvalid(f"day {day}: {value!r} is not a time like 07:30") from exc


# A week with no holidays works at least 1 hour a week, so a due time is found within this many days
# per 24 hours asked, even with many holidays; past it the calendar cannot be worked at all.
_MAX_DAYS = 3700


def due_at(start: dt.datetime, hours: float, *, week: Week | None) -> dt.datetime:
    """``hours`` after ``start``: calendar hours without a week, else only the week's working time."""
    if week is None:
        return start + dt.timedelta(hours=hours)
    left = dt.timedelta(hours=hours)
    local = start.astimezone(week.zone)
    day = local.date()
    for _ in range(_MAX_DAYS + int(hours * 7)):
        for span_start, span_end in week.working_spans(day):
            begin = max(span_start, local)
            if begin >= span_end:
                continue
            available = span_end - begin
            if left <= available:
                return (begin + left).astimezone(start.tzinfo)
            left -= available
        day += dt.timedelta(days=1)
    raise WeekInvalid("the calendar has no working time left to reach the due time")


def elapsed(start: dt.datetime, end: dt.datetime, *, week: Week | None) -> dt.timedelta:
    """Time on the clock between two moments (zero if end is before start)."""
    if end <= start:
        return dt.timedelta(0)
    if week is None:
        return end - start
    total = dt.timedelta(0)
    day, last = start.astimezone(week.zone).date(), end.astimezone(week.zone).date()
    while day <= last:
        for span_start, span_end in week.working_spans(day):
            overlap = min(span_end, end) - max(span_start, start)
            if overlap > dt.timedelta(0):
                total += overlap
        day += dt.timedelta(days=1)
    return total
