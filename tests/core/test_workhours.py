"""Working-hours calendar: tables of moments, dates and invalid settings."""

import time
from datetime import date, datetime, timedelta, timezone

import pytest

from notifier.core.fielderrors import FieldErrors
from notifier.core.workhours import (
    WEEKDAYS,
    Schedule,
    day_reason,
    is_working_day,
    is_working_time,
    upcoming_non_working_days,
)

UTC = timezone.utc
MSK = timezone(timedelta(hours=3))


def sched(week=None, country="RU", tz="Europe/Moscow", extra=(), workdays=()):
    return Schedule.from_json({
        "timezone": tz,
        "week": week if week is not None else {
            d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
        },
        "holidays": {"country": country, "extra": list(extra), "workdays": list(workdays)},
    })


def utc(*args):
    return datetime(*args, tzinfo=UTC)


OFFICE = sched()
# Tuesday has different hours, so a transferred Saturday shows whose hours it took.
SPLIT = sched({
    "mon": [["09:00", "13:00"], ["14:00", "18:00"]],  # lunch break
    "tue": [["10:00", "19:00"]],
    "wed": [["00:00", "24:00"]],
    "thu": [["09:00", "13:00"], ["13:00", "18:00"]],  # touching intervals
    "fri": [["09:00", "17:00"]],
})


@pytest.mark.parametrize(
    "schedule, moment, expected",
    [
        # Moscow is UTC+3: 14:59 UTC is 17:59 in Moscow, 15:00 UTC is 18:00 (end exclusive).
        (OFFICE, utc(2026, 3, 11, 14, 59), True),
        (OFFICE, utc(2026, 3, 11, 15, 0), False),
        (OFFICE, utc(2026, 3, 11, 14, 59, 59, 999999), True),
        (OFFICE, utc(2026, 3, 11, 6, 0), True),     # 09:00 Moscow: start inclusive
        (OFFICE, utc(2026, 3, 11, 5, 59), False),   # 08:59 Moscow
        (OFFICE, datetime(2026, 3, 11, 9, 0, tzinfo=MSK), True),
        (OFFICE, datetime(2026, 3, 11, 18, 0, tzinfo=MSK), False),
        # The same UTC moment in another company zone.
        (sched(tz="Asia/Yekaterinburg"), utc(2026, 3, 11, 12, 59), True),   # 17:59 +05
        (sched(tz="Asia/Yekaterinburg"), utc(2026, 3, 11, 13, 0), False),   # 18:00 +05
        (sched(tz="Asia/Vladivostok"), utc(2026, 3, 10, 23, 0), True),      # Wed 09:00 +10
        (sched(tz="UTC"), utc(2026, 3, 11, 17, 59), True),
        (sched(tz="UTC"), utc(2026, 3, 11, 18, 0), False),
        # Weekend days without intervals.
        (OFFICE, utc(2026, 3, 14, 9, 0), False),    # Saturday
        (OFFICE, utc(2026, 3, 15, 9, 0), False),    # Sunday
        # Lunch break, touching intervals, "24:00".
        (SPLIT, datetime(2026, 3, 16, 12, 59, tzinfo=MSK), True),
        (SPLIT, datetime(2026, 3, 16, 13, 0, tzinfo=MSK), False),
        (SPLIT, datetime(2026, 3, 16, 13, 59, tzinfo=MSK), False),
        (SPLIT, datetime(2026, 3, 16, 14, 0, tzinfo=MSK), True),
        (SPLIT, datetime(2026, 3, 19, 13, 0, tzinfo=MSK), True),
        (SPLIT, datetime(2026, 3, 18, 0, 0, tzinfo=MSK), True),
        (SPLIT, datetime(2026, 3, 18, 23, 59, 59, tzinfo=MSK), True),
        (SPLIT, datetime(2026, 3, 19, 0, 0, tzinfo=MSK), False),  # Thursday 00:00
        # Official holidays on weekdays.
        (OFFICE, datetime(2026, 1, 1, 12, 0, tzinfo=MSK), False),
        (OFFICE, datetime(2026, 1, 9, 12, 0, tzinfo=MSK), False),   # Friday, moved from Sat 3 Jan
        (OFFICE, datetime(2026, 1, 12, 12, 0, tzinfo=MSK), True),
        (OFFICE, datetime(2026, 11, 4, 12, 0, tzinfo=MSK), False),
        (OFFICE, datetime(2026, 12, 31, 12, 0, tzinfo=MSK), False),  # moved from Sun 4 Jan
        # Transferred working Saturdays get the hours of the weekday they replace.
        (OFFICE, datetime(2025, 11, 1, 10, 0, tzinfo=MSK), True),   # Sat, for Mon 3 Nov
        (OFFICE, datetime(2025, 11, 3, 10, 0, tzinfo=MSK), False),
        (SPLIT, datetime(2025, 11, 1, 13, 30, tzinfo=MSK), False),  # Monday's lunch break
        (SPLIT, datetime(2024, 11, 2, 18, 30, tzinfo=MSK), True),   # Sat for Tue 30 Apr: till 19:00
        (SPLIT, datetime(2024, 11, 2, 9, 30, tzinfo=MSK), False),   # Tuesday starts at 10:00
        (SPLIT, datetime(2024, 12, 28, 9, 30, tzinfo=MSK), True),   # Sat for Mon 30 Dec
        # Without a country calendar the holidays are ordinary days.
        (sched(country=None), datetime(2026, 1, 1, 12, 0, tzinfo=MSK), True),
        (sched(country=None), datetime(2025, 11, 1, 12, 0, tzinfo=MSK), False),
        # Explicit dates.
        (sched(extra=["2026-03-11"]), datetime(2026, 3, 11, 12, 0, tzinfo=MSK), False),
        (sched(extra=["2025-11-01"]), datetime(2025, 11, 1, 12, 0, tzinfo=MSK), False),
        (sched(workdays=["2026-01-05"]), datetime(2026, 1, 5, 12, 0, tzinfo=MSK), True),
        (sched(workdays=["2026-03-14"]), datetime(2026, 3, 14, 12, 0, tzinfo=MSK), True),
        (sched(workdays=["2026-03-14"]), datetime(2026, 3, 14, 18, 0, tzinfo=MSK), False),
        (sched(workdays=["2026-03-15"], week={"wed": [["08:00", "10:00"]]}),
         datetime(2026, 3, 15, 8, 30, tzinfo=MSK), True),         # Sunday takes Wednesday's hours
        (sched(workdays=["2026-03-15"], week={}),
         datetime(2026, 3, 15, 12, 0, tzinfo=MSK), False),        # no hours anywhere
        # DST: Berlin springs forward 29 Mar 2026 02:00 CET -> 03:00 CEST.
        (sched(tz="Europe/Berlin", week={"sun": [["01:00", "03:00"]]}), utc(2026, 3, 29, 0, 59), True),
        (sched(tz="Europe/Berlin", week={"sun": [["01:00", "03:00"]]}), utc(2026, 3, 29, 1, 0), False),
        (sched(tz="Europe/Berlin", week={"sun": [["03:00", "04:00"]]}), utc(2026, 3, 29, 1, 0), True),
        # Berlin falls back 25 Oct 2026 03:00 CEST -> 02:00 CET: 02:30 happens twice.
        (sched(tz="Europe/Berlin", week={"sun": [["02:00", "03:00"]]}), utc(2026, 10, 25, 0, 30), True),
        (sched(tz="Europe/Berlin", week={"sun": [["02:00", "03:00"]]}), utc(2026, 10, 25, 1, 30), True),
        (sched(tz="Europe/Berlin", week={"sun": [["02:00", "03:00"]]}), utc(2026, 10, 25, 2, 0), False),
        (sched(tz="Europe/Berlin", country="DE"), utc(2026, 12, 25, 10, 0), False),  # Christmas
        (sched(tz="Europe/Berlin", country="DE"), utc(2026, 1, 7, 10, 0), True),     # not Russian
    ],
)
def test_is_working_time(schedule, moment, expected):
    assert is_working_time(schedule, moment) is expected


def test_naive_datetime_rejected():
    with pytest.raises(ValueError):
        is_working_time(OFFICE, datetime(2026, 3, 11, 12, 0))


@pytest.mark.parametrize(
    "schedule, day, working, reason",
    [
        (OFFICE, date(2026, 3, 11), True, None),
        (OFFICE, date(2026, 3, 14), False, "Выходной"),
        (OFFICE, date(2026, 1, 1), False, "Новогодние каникулы"),
        (OFFICE, date(2026, 1, 7), False, "Рождество Христово"),
        (OFFICE, date(2026, 1, 9), False, "Выходной (перенесено с 03.01.2026)"),
        (OFFICE, date(2026, 3, 9), False, "Международный женский день (выходной)"),
        (OFFICE, date(2026, 11, 4), False, "День народного единства"),
        (OFFICE, date(2026, 5, 9), False, "День Победы"),          # Saturday: the name is shown
        (OFFICE, date(2025, 11, 1), True, None),                   # transferred working Saturday
        (OFFICE, date(2025, 11, 3), False, "Выходной (перенесено с 01.11.2025)"),
        (OFFICE, date(2027, 2, 20), True, None),
        (sched(extra=["2026-12-30"]), date(2026, 12, 30), False, "Дополнительный нерабочий день"),
        (sched(extra=["2026-01-01"]), date(2026, 1, 1), False, "Новогодние каникулы"),
        (sched(extra=["2025-11-01"]), date(2025, 11, 1), False, "Дополнительный нерабочий день"),
        (sched(workdays=["2026-01-01"]), date(2026, 1, 1), True, None),
        (sched(workdays=["2026-03-15"]), date(2026, 3, 15), True, None),
        (sched(country=None), date(2026, 1, 1), True, None),
        (sched(country=None), date(2025, 11, 1), False, "Выходной"),
        (sched(week={}), date(2026, 3, 11), False, "Выходной"),
    ],
)
def test_working_day_and_reason(schedule, day, working, reason):
    assert is_working_day(schedule, day) is working
    assert day_reason(schedule, day) == reason


@pytest.mark.parametrize(
    "data, errors",
    [
        ({"timezone": "Europe/Moscow", "week": {"mon": [["9:00", "18:00"]]}}, {"week.mon"}),
        ({"timezone": "Europe/Moscow", "week": {"mon": [["09:60", "18:00"]]}}, {"week.mon"}),
        ({"timezone": "Europe/Moscow", "week": {"mon": [["09:00", "24:01"]]}}, {"week.mon"}),
        ({"timezone": "Europe/Moscow", "week": {"mon": [["25:00", "26:00"]]}}, {"week.mon"}),
        ({"timezone": "Europe/Moscow", "week": {"mon": [[900, 1800]]}}, {"week.mon"}),
        ({"timezone": "Europe/Moscow", "week": {"mon": [["09:00"]]}}, {"week.mon"}),
        ({"timezone": "Europe/Moscow", "week": {"mon": "09:00-18:00"}}, {"week.mon"}),
        ({"timezone": "Europe/Moscow", "week": {"tue": [["18:00", "09:00"]]}}, {"week.tue"}),
        ({"timezone": "Europe/Moscow", "week": {"tue": [["09:00", "09:00"]]}}, {"week.tue"}),
        ({"timezone": "Europe/Moscow", "week": {"tue": [["24:00", "24:00"]]}}, {"week.tue"}),
        ({"timezone": "Europe/Moscow", "week": {"wed": [["09:00", "13:00"], ["12:00", "18:00"]]}},
         {"week.wed"}),
        ({"timezone": "Europe/Moscow", "week": {"wed": [["09:00", "18:00"], ["10:00", "11:00"]]}},
         {"week.wed"}),
        ({"timezone": "Europe/Moscow", "week": {"monday": [], "mon": []}}, {"week"}),
        ({"timezone": "Europe/Moscow", "week": []}, {"week"}),
        ({"timezone": "Mars/Olympus"}, {"timezone"}),
        ({"timezone": "../etc/passwd"}, {"timezone"}),
        ({"timezone": 3}, {"timezone"}),
        ({}, {"timezone"}),
        ({"timezone": "Europe/Moscow", "holidays": {"country": "XX"}}, {"holidays.country"}),
        ({"timezone": "Europe/Moscow", "holidays": {"country": 7}}, {"holidays.country"}),
        ({"timezone": "Europe/Moscow", "holidays": {"extra": ["2026-02-30"]}}, {"holidays.extra"}),
        ({"timezone": "Europe/Moscow", "holidays": {"extra": ["31.12.2026"]}}, {"holidays.extra"}),
        ({"timezone": "Europe/Moscow", "holidays": {"extra": ["20261231"]}}, {"holidays.extra"}),
        ({"timezone": "Europe/Moscow", "holidays": {"extra": "2026-12-31"}}, {"holidays.extra"}),
        ({"timezone": "Europe/Moscow", "holidays": {"workdays": [None]}}, {"holidays.workdays"}),
        ({"timezone": "Europe/Moscow",
          "holidays": {"extra": ["2026-12-31"], "workdays": ["2026-12-31"]}}, {"holidays.workdays"}),
        ({"timezone": "Europe/Moscow", "holidays": {"country": "RU", "extras": []}}, {"holidays"}),
        ({"timezone": "Europe/Moscow", "holidays": ["RU"]}, {"holidays"}),
        # Every bad field is reported at once.
        ({"timezone": "Nowhere", "week": {"mon": [["9", "18"]], "fri": [["17:00", "09:00"]]},
          "holidays": {"country": "ZZ", "extra": ["tomorrow"]}},
         {"timezone", "week.mon", "week.fri", "holidays.country", "holidays.extra"}),
    ],
)
def test_from_json_errors(data, errors):
    with pytest.raises(FieldErrors) as exc:
        Schedule.from_json(data)
    assert set(exc.value.errors) == errors
    assert isinstance(exc.value, ValueError)
    assert all(isinstance(m, str) and m for m in exc.value.errors.values())


@pytest.mark.parametrize("data", [None, [], "Europe/Moscow"])
def test_from_json_rejects_non_object(data):
    with pytest.raises(FieldErrors) as exc:
        Schedule.from_json(data)
    assert exc.value.errors


CONTRACT_EXAMPLE = {
    "timezone": "Europe/Moscow",
    "week": {"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
             "thu": [["09:00", "18:00"]], "fri": [["09:00", "17:00"]], "sat": [], "sun": []},
    "holidays": {"country": "RU", "extra": ["2026-12-31"], "workdays": []},
}


@pytest.mark.parametrize(
    "data, expected",
    [
        (CONTRACT_EXAMPLE, CONTRACT_EXAMPLE),
        # Missing weekdays are [], missing holidays means no calendar; output is sorted.
        ({"timezone": "UTC", "week": {"sun": [["13:00", "24:00"], ["00:00", "01:30"]]}},
         {"timezone": "UTC",
          "week": {**{d: [] for d in WEEKDAYS}, "sun": [["00:00", "01:30"], ["13:00", "24:00"]]},
          "holidays": {"country": None, "extra": [], "workdays": []}}),
        ({"timezone": "Europe/Berlin", "holidays": {"country": "de", "workdays": ["2026-03-15"]},
          "upcoming": ["ignored"]},
         {"timezone": "Europe/Berlin", "week": {d: [] for d in WEEKDAYS},
          "holidays": {"country": "DE", "extra": [], "workdays": ["2026-03-15"]}}),
        ({"timezone": "Europe/Moscow",
          "holidays": {"country": None, "extra": ["2026-12-31", "2026-01-02", "2026-12-31"]}},
         {"timezone": "Europe/Moscow", "week": {d: [] for d in WEEKDAYS},
          "holidays": {"country": None, "extra": ["2026-01-02", "2026-12-31"], "workdays": []}}),
    ],
)
def test_json_round_trip(data, expected):
    schedule = Schedule.from_json(data)
    assert schedule.to_json() == expected
    assert Schedule.from_json(schedule.to_json()) == schedule


def test_default():
    schedule = Schedule.default()
    assert schedule.timezone == "Europe/Moscow"
    assert schedule.country == "RU"
    assert schedule.week[0] == ((540, 1080),)
    assert schedule.week[5] == schedule.week[6] == ()
    assert Schedule.from_json(schedule.to_json()) == schedule
    assert Schedule.default("Asia/Novosibirsk").timezone == "Asia/Novosibirsk"


@pytest.mark.parametrize(
    "schedule, start, count, expected",
    [
        (OFFICE, date(2026, 3, 11), 3,
         [(date(2026, 3, 14), "Выходной"), (date(2026, 3, 15), "Выходной"), (date(2026, 3, 21), "Выходной")]),
        (OFFICE, date(2026, 11, 1), 2,
         [(date(2026, 11, 1), "Выходной"), (date(2026, 11, 4), "День народного единства")]),
        (sched(extra=["2026-12-30"]), date(2026, 12, 28), 5,
         [(date(2026, 12, 30), "Дополнительный нерабочий день"),
          (date(2026, 12, 31), "Выходной (перенесено с 04.01.2026)"),
          (date(2027, 1, 1), "Новогодние каникулы"), (date(2027, 1, 2), "Новогодние каникулы"),
          (date(2027, 1, 3), "Новогодние каникулы")]),
        (OFFICE, date(2025, 10, 31), 1, [(date(2025, 11, 2), "Выходной")]),  # 1 Nov 2025 works
        (OFFICE, date(2026, 3, 11), 0, []),
        # Every day working: ends after the bounded scan with nothing found.
        (sched(week={d: [["00:00", "24:00"]] for d in WEEKDAYS}, country=None), date(2026, 1, 1), 5, []),
        (sched(week={d: [["09:00", "18:00"]] for d in WEEKDAYS}), date(2026, 6, 1), 2,
         [(date(2026, 6, 12), "День России"), (date(2026, 11, 4), "День народного единства")]),
        (sched(week={}), date(9999, 12, 30), 5,
         [(date(9999, 12, 30), "Выходной"), (date(9999, 12, 31), "Выходной")]),  # no overflow
    ],
)
def test_upcoming_non_working_days(schedule, start, count, expected):
    assert upcoming_non_working_days(schedule, start, count) == expected


def test_decision_is_fast_once_cached():
    moment = utc(2026, 3, 11, 10, 0)
    is_working_time(OFFICE, moment)
    began = time.perf_counter()
    for _ in range(1000):
        is_working_time(OFFICE, moment)
    assert (time.perf_counter() - began) / 1000 < 0.001
