"""Morning digest: is one due now, and which night does it cover? (issue 16, part 4)

Pure: the schedule (notifier.core.workhours, holidays included), the moment
and the day the caller last finished a digest round go in; the answer is the
working day's :class:`Window` or None.

- A digest opens a working day. It covers the non-working time before it: from
  the end of the last working day's hours (Friday 18:00 for a Monday, the
  last day before the holidays after them) to the start of this day's hours.
  Breaks inside a working day (lunch) are not covered.
- It is due from the start of the day's hours plus :data:`SETTLE` (a call that
  ended at 08:59:59 may still be on its way from the PBX), until the day's
  hours end: a worker that was down at 09:00 and comes back at 11:00 still
  sends that morning's digest; one that comes back after work does not (the
  calls are a day old, and the evening is no morning).
- Not twice: nothing is due on the day given as ``done`` (the caller's round
  for that day is complete); the database's one row per (employee, day) is
  what guarantees it across workers.
- A non-working day, or a working day without hours, has no digest.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from notifier.core import workhours

SETTLE = timedelta(minutes=1)
# How far back the last working day is looked for (a schedule with hardly any working days).
SCAN_DAYS = 400


@dataclass(frozen=True)
class Window:
    """The digest of working day ``day``: missed calls in [start, end), due until ``closes``.

    Times are aware, in the schedule's zone. ``start`` is None when no working
    day was found within SCAN_DAYS before (then everything before ``end``).
    """

    day: date
    start: datetime | None
    end: datetime
    closes: datetime


def _at(d: date, minute: int, zone: ZoneInfo) -> datetime:
    """Wall-clock minute of ``d`` (1440: the next midnight) as an aware moment."""
    if minute >= workhours.DAY_MINUTES:
        return datetime.combine(d + timedelta(days=1), time(), zone)
    return datetime.combine(d, time(minute // 60, minute % 60), zone)


def window(schedule: workhours.Schedule, day: date) -> Window | None:
    """The digest window of ``day``, or None when ``day`` has no working hours."""
    hours = workhours.day_hours(schedule, day)
    if not hours:
        return None
    zone = ZoneInfo(schedule.timezone)
    start = None
    for back in range(1, SCAN_DAYS + 1):
        previous = day - timedelta(days=back)
        earlier = workhours.day_hours(schedule, previous)
        if earlier:
            start = _at(previous, earlier[-1][1], zone)
            break
    return Window(day, start, _at(day, hours[0][0], zone), _at(day, hours[-1][1], zone))


def due(schedule: workhours.Schedule, now: datetime, done: date | None = None) -> Window | None:
    """Today's window if its digest is due at ``now`` (aware) and today is not ``done``."""
    today = now.astimezone(ZoneInfo(schedule.timezone)).date()
    if today == done:
        return None
    current = window(schedule, today)
    if current is None or not current.end + SETTLE <= now < current.closes:
        return None
    return current
