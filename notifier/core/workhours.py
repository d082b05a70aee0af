"""The company's working-hours calendar: is this moment working time?

Rules "в рабочее время" / "в нерабочее время" are judged at the call's start
(events.md rule 5); non-working time is exactly the complement of working time.

A date is a working day when, in this order of precedence:

1. it is in ``workdays`` (the admin's extra working dates) -> working;
2. it is in ``extra`` (the admin's extra non-working dates) -> non-working;
3. it is an official transferred working day (e.g. Saturday 1 Nov 2025 in
   Russia, from ``weekend_workdays`` of the ``holidays`` package) -> working;
4. it is an official holiday of ``country`` -> non-working;
5. otherwise its weekday has intervals -> working.

Working hours of a working day are its weekday's intervals. A working day whose
weekday has none (a transferred Saturday, an extra working Sunday) gets the
hours of the weekday it replaces when the holidays package names it (Saturday
2 Nov 2024 replaced Tuesday 30 Apr 2024: Tuesday's hours), else the hours of the
first weekday with intervals (Monday normally); if the week has no intervals at
all, the day is "working" but has no working hours. Pre-holiday shortened days
are not modelled: the admin can set their hours only through the week.

Time is wall-clock time in the schedule's zone: during a DST change a repeated
hour is judged twice by the same intervals, a skipped hour never occurs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

import holidays

from notifier.core.fielderrors import FieldErrors

__all__ = [
    "WEEKDAYS", "Schedule", "is_working_time", "is_working_day",
    "day_reason", "upcoming_non_working_days", "day_hours",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
REASON_WEEKEND = "Выходной"
REASON_EXTRA = "Дополнительный нерабочий день"
_SCAN_DAYS = 400

Interval = tuple[int, int]
Week = tuple[tuple[Interval, ...], ...]  # indexed by date.weekday()

_TIME = re.compile(r"(\d\d):(\d\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Schedule:
    """Validated working-hours settings; build it with :meth:`from_json` or :meth:`default`.

    ``week[i]`` holds the (start_minute, end_minute) intervals of ``WEEKDAYS[i]``,
    sorted, start inclusive, end exclusive, end up to 1440 ("24:00").
    """

    timezone: str
    week: Week
    country: str | None
    extra: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def default(cls, timezone: str = "Europe/Moscow") -> Schedule:
        """Mon–Fri 09:00–18:00 with the Russian official calendar: a sane first setup."""
        office = ((9 * 60, 18 * 60),)
        return cls(timezone, (office,) * 5 + ((),) * 2, "RU")

    @classmethod
    def from_json(cls, data: object) -> Schedule:
        """Validate the API shape (api.md "Working hours"), reporting every bad field at once.

        ``timezone`` is required. A missing weekday means no working hours that
        day; a missing ``holidays`` object means no official calendar and no
        extra dates. Unknown top-level keys are ignored (so a GET answer can be
        PUT back); unknown keys inside ``week`` and ``holidays`` are errors. The
        same date in both ``extra`` and ``workdays`` is an error. Intervals may
        touch (``09:00-13:00`` and ``13:00-18:00``) but not overlap.
        """
        if not isinstance(data, dict):
            raise FieldErrors({"schedule": "Ожидается объект JSON"})
        errors: dict[str, str] = {}
        timezone = _parse_timezone(data.get("timezone"), errors)
        week = _parse_week(data.get("week", {}), errors)
        country, extra, workdays = _parse_holidays(data.get("holidays"), errors)
        if errors:
            raise FieldErrors(errors)
        return cls(timezone, week, country, extra, workdays)

    def to_json(self) -> dict:
        """The API shape; ``Schedule.from_json(s.to_json()) == s``."""
        return {
            "timezone": self.timezone,
            "week": {
                name: [[_fmt_minute(a), _fmt_minute(b)] for a, b in self.week[i]]
                for i, name in enumerate(WEEKDAYS)
            },
            "holidays": {
                "country": self.country,
                "extra": sorted(d.isoformat() for d in self.extra),
                "workdays": sorted(d.isoformat() for d in self.workdays),
            },
        }


def is_working_time(schedule: Schedule, moment: datetime) -> bool:
    """True if ``moment`` (timezone-aware) falls in the schedule's working hours."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    local = moment.astimezone(ZoneInfo(schedule.timezone))
    minute = local.hour * 60 + local.minute
    return any(a <= minute < b for a, b in _hours(schedule, local.date()))


def is_working_day(schedule: Schedule, d: date) -> bool:
    """True if ``d`` is a working day (see the module docstring for precedence)."""
    if d in schedule.workdays:
        return True
    if d in schedule.extra:
        return False
    holidays_, transferred = _official(schedule.country, d.year)
    if d in transferred:
        return True
    return d not in holidays_ and bool(schedule.week[d.weekday()])


def day_reason(schedule: Schedule, d: date) -> str | None:
    """Why ``d`` is not a working day, in Russian (the holiday's name when known); None if it is."""
    if is_working_day(schedule, d):
        return None
    name = _official(schedule.country, d.year)[0].get(d)
    if name:
        return name
    return REASON_EXTRA if d in schedule.extra else REASON_WEEKEND


def upcoming_non_working_days(
    schedule: Schedule, start: date, count: int = 5
) -> list[tuple[date, str]]:
    """Up to ``count`` non-working dates from ``start`` (inclusive) with reasons.

    Looks at most 400 days ahead, so an every-day-working schedule ends quickly.
    """
    found: list[tuple[date, str]] = []
    for offset in range(_SCAN_DAYS):
        if len(found) >= count:
            break
        try:
            d = start + timedelta(days=offset)
        except OverflowError:
            break
        reason = day_reason(schedule, d)
        if reason is not None:
            found.append((d, reason))
    return found


def day_hours(schedule: Schedule, d: date) -> tuple[Interval, ...]:
    """The working intervals (start, end minutes) of ``d``; empty on a non-working day."""
    return _hours(schedule, d)


def _hours(schedule: Schedule, d: date) -> tuple[Interval, ...]:
    """Working intervals of ``d``: its weekday's, or the replaced/first weekday's."""
    if not is_working_day(schedule, d):
        return ()
    own = schedule.week[d.weekday()]
    if own:
        return own
    replaced = _official(schedule.country, d.year)[1].get(d)
    if replaced is not None and schedule.week[replaced]:
        return schedule.week[replaced]
    return next((hours for hours in schedule.week if hours), ())


@lru_cache(maxsize=128)
def _official(country: str | None, year: int) -> tuple[dict[date, str], dict[date, int | None]]:
    """Official holidays of ``year`` (date -> Russian name) and transferred working days
    (date -> weekday index it replaces, or None). Cached: building the calendars takes ~0.1 s.

    Neighbouring years are built too, because a transfer may cross the new year.
    """
    if country is None or not 1 < year < 9999:
        return {}, {}
    cal = holidays.country_holidays(country, years=[year - 1, year, year + 1], language="ru")
    days = {d: name for d, name in cal.items() if d.year == year}
    transferred: dict[date, int | None] = {}
    fmt = getattr(cal, "substituted_date_format", None)
    for workday in cal.weekend_workdays:
        if workday.year != year:
            continue
        transferred[workday] = None
        if fmt:
            label = workday.strftime(cal.tr(fmt))
            transferred[workday] = next(
                (d.weekday() for d, name in sorted(cal.items()) if label in name), None
            )
    return days, transferred


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _parse_timezone(value: object, errors: dict[str, str]) -> str:
    if value is None or value == "":
        errors["timezone"] = "Укажите часовой пояс"
    elif not isinstance(value, str) or value not in _timezones():
        errors["timezone"] = f"Неизвестный часовой пояс: {value}"
    return value  # type: ignore[return-value]


def _parse_week(value: object, errors: dict[str, str]) -> Week:
    if not isinstance(value, dict):
        errors["week"] = "Ожидается объект с днями недели mon…sun"
        return ((),) * 7
    unknown = [str(k) for k in value if k not in WEEKDAYS]
    if unknown:
        errors["week"] = f"Неизвестный день недели: {', '.join(unknown)}"
    week = []
    for name in WEEKDAYS:
        try:
            week.append(_parse_day(value.get(name, [])))
        except ValueError as exc:
            errors[f"week.{name}"] = str(exc)
            week.append(())
    return tuple(week)


def _parse_day(value: object) -> tuple[Interval, ...]:
    if not isinstance(value, list):
        raise ValueError("Ожидается список интервалов [[\"09:00\", \"18:00\"], …]")
    intervals = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2):
            raise ValueError("Интервал задаётся парой [\"ЧЧ:ММ\", \"ЧЧ:ММ\"]")
        start, end = _parse_minute(item[0]), _parse_minute(item[1])
        if start >= end:
            raise ValueError(f"Начало {item[0]} должно быть раньше конца {item[1]}")
        intervals.append((start, end))
    intervals.sort()
    for (_, end), (start, _) in zip(intervals, intervals[1:]):
        if start < end:
            raise ValueError("Интервалы пересекаются")
    return tuple(intervals)


def _parse_minute(value: object) -> int:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match:
        hours, minutes = int(match[1]), int(match[2])
        if (hours < 24 and minutes < 60) or (hours, minutes) == (24, 0):
            return hours * 60 + minutes
    raise ValueError(f"Неверное время: {value!r}, ожидается ЧЧ:ММ от 00:00 до 24:00")


def _fmt_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _parse_holidays(
    value: object, errors: dict[str, str]
) -> tuple[str | None, frozenset[date], frozenset[date]]:
    if value is None:
        return None, frozenset(), frozenset()
    if not isinstance(value, dict):
        errors["holidays"] = "Ожидается объект {country, extra, workdays}"
        return None, frozenset(), frozenset()
    unknown = [str(k) for k in value if k not in ("country", "extra", "workdays")]
    if unknown:
        errors["holidays"] = f"Неизвестные поля: {', '.join(unknown)}"
    country = value.get("country")
    if country is not None:
        if isinstance(country, str) and country.upper() in holidays.list_supported_countries():
            country = country.upper()
        else:
            errors["holidays.country"] = f"Неизвестная страна производственного календаря: {country}"
            country = None
    extra = _parse_dates(value.get("extra", []), "holidays.extra", errors)
    workdays = _parse_dates(value.get("workdays", []), "holidays.workdays", errors)
    both = sorted(extra & workdays)
    if both:
        errors["holidays.workdays"] = (
            "Дата не может быть одновременно нерабочей и рабочей: "
            + ", ".join(d.isoformat() for d in both)
        )
    return country, extra, workdays


def _parse_dates(value: object, field: str, errors: dict[str, str]) -> frozenset[date]:
    if not isinstance(value, list):
        errors[field] = "Ожидается список дат ГГГГ-ММ-ДД"
        return frozenset()
    dates = set()
    for item in value:
        try:
            if not (isinstance(item, str) and _DATE.fullmatch(item)):
                raise ValueError
            dates.add(date.fromisoformat(item))
        except ValueError:
            errors[field] = f"Неверная дата: {item!r}, ожидается ГГГГ-ММ-ДД"
            return frozenset()
    return frozenset(dates)
