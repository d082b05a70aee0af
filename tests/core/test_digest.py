"""Morning digest timing (core.digest): when it is due and which night it covers."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from notifier.core.digest import SETTLE, due, window
from notifier.core.workhours import Schedule

MSK = ZoneInfo("Europe/Moscow")
OFFICE = Schedule.default("Europe/Moscow")  # Mon-Fri 09-18, Russian holidays


def sched(week, extra=(), workdays=(), country="RU"):
    return Schedule.from_json({"timezone": "Europe/Moscow", "week": week,
                               "holidays": {"country": country, "extra": list(extra), "workdays": list(workdays)}})


LUNCH = sched({d: [["09:00", "13:00"], ["14:00", "18:30"]] for d in ("mon", "tue", "wed", "thu", "fri")})
EXTRA_OFF = sched({d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}, extra=["2026-12-08"])
ROUND_THE_CLOCK = sched({d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
NIGHT_SHIFT = sched({"mon": [["20:00", "24:00"]], "tue": [["00:00", "06:00"]]}, country=None)


def msk(*args):
    return datetime(*args, tzinfo=MSK)


@pytest.mark.parametrize("schedule, now, done, expected", [
    # normal morning: Thursday 3 Dec 2026 covers Wednesday 18:00 .. Thursday 09:00
    (OFFICE, msk(2026, 12, 3, 9, 1), None, (date(2026, 12, 3), msk(2026, 12, 2, 18), msk(2026, 12, 3, 9))),
    (OFFICE, msk(2026, 12, 3, 9, 0), None, None),            # the call of 08:59:59 may still be on its way
    (OFFICE, msk(2026, 12, 3, 8, 30), None, None),           # before the working day
    # Monday after the weekend: from Friday 18:00
    (OFFICE, msk(2026, 12, 7, 9, 5), None, (date(2026, 12, 7), msk(2026, 12, 4, 18), msk(2026, 12, 7, 9))),
    # after a holiday: Wednesday 4 Nov 2026 (День народного единства) -> Thursday covers from Tuesday 18:00
    (OFFICE, msk(2026, 11, 5, 9, 1), None, (date(2026, 11, 5), msk(2026, 11, 3, 18), msk(2026, 11, 5, 9))),
    # after the New Year holidays (31 Dec .. 10 Jan): from Wednesday 30 Dec
    (OFFICE, msk(2027, 1, 11, 10, 0), None, (date(2027, 1, 11), msk(2026, 12, 30, 18), msk(2027, 1, 11, 9))),
    # a day that is a holiday has no digest, neither has a weekend
    (OFFICE, msk(2026, 11, 4, 9, 30), None, None),
    (OFFICE, msk(2027, 1, 5, 9, 30), None, None),
    (OFFICE, msk(2026, 12, 5, 9, 30), None, None),
    # the admin's extra day off, then the day after it
    (EXTRA_OFF, msk(2026, 12, 8, 9, 30), None, None),
    (EXTRA_OFF, msk(2026, 12, 9, 9, 30), None, (date(2026, 12, 9), msk(2026, 12, 7, 18), msk(2026, 12, 9, 9))),
    # worker started late: 11:00 still sends that morning's digest, until the working day ends
    (OFFICE, msk(2026, 12, 3, 11, 0), None, (date(2026, 12, 3), msk(2026, 12, 2, 18), msk(2026, 12, 3, 9))),
    (OFFICE, msk(2026, 12, 3, 17, 59), None, (date(2026, 12, 3), msk(2026, 12, 2, 18), msk(2026, 12, 3, 9))),
    (OFFICE, msk(2026, 12, 3, 18, 0), None, None),
    (OFFICE, msk(2026, 12, 3, 23, 0), None, None),
    # not twice: the day's round is done
    (OFFICE, msk(2026, 12, 3, 11, 0), date(2026, 12, 3), None),
    (OFFICE, msk(2026, 12, 4, 9, 1), date(2026, 12, 3), (date(2026, 12, 4), msk(2026, 12, 3, 18), msk(2026, 12, 4, 9))),
    # a lunch break is not covered; the day closes at its last interval's end
    (LUNCH, msk(2026, 12, 3, 14, 30), None, (date(2026, 12, 3), msk(2026, 12, 2, 18, 30), msk(2026, 12, 3, 9))),
    (LUNCH, msk(2026, 12, 3, 18, 29), None, (date(2026, 12, 3), msk(2026, 12, 2, 18, 30), msk(2026, 12, 3, 9))),
    # every hour working: an empty night
    (ROUND_THE_CLOCK, msk(2026, 12, 3, 0, 1), None, (date(2026, 12, 3), msk(2026, 12, 3, 0), msk(2026, 12, 3, 0))),
    # the moment given in another zone counts by the company's clock (06:01 UTC = 09:01 Moscow)
    (OFFICE, datetime(2026, 12, 3, 6, 1, tzinfo=timezone.utc), None, (date(2026, 12, 3), msk(2026, 12, 2, 18), msk(2026, 12, 3, 9))),
    (OFFICE, datetime(2026, 12, 3, 5, 59, tzinfo=timezone.utc), None, None),
])
def test_due(schedule, now, done, expected):
    found = due(schedule, now, done)
    assert (found and (found.day, found.start, found.end)) == (expected or None)


def test_window_closes_at_the_end_of_the_days_hours():
    assert window(LUNCH, date(2026, 12, 3)).closes == msk(2026, 12, 3, 18, 30)
    assert window(ROUND_THE_CLOCK, date(2026, 12, 3)).closes == msk(2026, 12, 4, 0)
    assert window(NIGHT_SHIFT, date(2026, 12, 8)).start == msk(2026, 12, 8, 0)  # Monday's shift ends at 24:00
    assert window(OFFICE, date(2026, 12, 5)) is None


def test_no_earlier_working_day_means_no_lower_bound():
    only_one_day = sched({}, workdays=["2026-12-03"], country=None)  # no weekly hours: that date takes none
    assert window(only_one_day, date(2026, 12, 3)) is None
    once = sched({"thu": [["09:00", "18:00"]]}, extra=[(date(2026, 12, 3) - timedelta(days=7 * k)).isoformat()
                                                      for k in range(1, 60)], country=None)
    found = window(once, date(2026, 12, 3))
    assert found.start is None and found.end == msk(2026, 12, 3, 9)


def test_settle_is_short():
    assert timedelta(0) < SETTLE <= timedelta(minutes=5)
