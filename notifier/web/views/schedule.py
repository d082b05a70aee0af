"""«Рабочее время» screen: time zone, weekly intervals, official calendar, extra dates.

The form is turned into the API's JSON and validated by ``core.workhours``, so
the screen and ``PUT /api/v1/schedule`` accept exactly the same schedules.
"""
from __future__ import annotations

from datetime import datetime, timezone
from itertools import zip_longest
from zoneinfo import ZoneInfo, available_timezones

from flask import Blueprint, flash, redirect, render_template, request, url_for

from notifier.core.fielderrors import FieldErrors
from notifier.core.workhours import WEEKDAYS, Schedule, is_working_time, upcoming_non_working_days
from notifier.services import settings

bp = Blueprint("schedule", __name__, url_prefix="/schedule")

DAY_NAMES = dict(zip(WEEKDAYS, ("Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье")))
SHORT_DAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
COUNTRIES = (
    ("RU", "Россия"), ("BY", "Беларусь"), ("KZ", "Казахстан"), ("UZ", "Узбекистан"),
    ("KG", "Киргизия"), ("TJ", "Таджикистан"), ("AM", "Армения"), ("AZ", "Азербайджан"),
    ("GE", "Грузия"), ("DE", "Германия"), ("GB", "Великобритания"), ("US", "США"),
)
RUSSIAN_ZONES = (
    "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
    "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
    "Asia/Magadan", "Asia/Kamchatka",
)
UPCOMING = 8


@bp.get("/")
def index():
    return _page(settings.schedule())


@bp.post("/")
def save():
    data, errors = _form_to_json(request.form)
    try:
        schedule = Schedule.from_json(data)
    except FieldErrors as exc:
        errors = {**exc.errors, **errors}
    if errors:
        return _page(None, values=_values_from_form(request.form), errors=errors), 422
    settings.save_schedule(schedule)
    flash("Рабочее время сохранено.", "success")
    return redirect(url_for("schedule.index"))


def _form_to_json(form) -> tuple[dict, dict[str, str]]:
    """The API's JSON from the form; rows left blank are ignored, half-filled rows are errors.

    A time input cannot say "24:00", so an interval ending at 00:00 runs to midnight.
    """
    errors: dict[str, str] = {}
    week = {}
    for day in WEEKDAYS:
        intervals = []
        for start, end in _rows(form, day):
            start, end = start.strip(), end.strip()
            if not start and not end:
                continue
            if not start or not end:
                errors[f"week.{day}"] = "Укажите и начало, и конец интервала"
            intervals.append([start, "24:00" if end == "00:00" and start else end])
        week[day] = intervals
    data = {
        "timezone": form.get("timezone", "").strip(),
        "week": week,
        "holidays": {
            "country": form.get("country", "").strip() or None,
            "extra": _dates(form, "extra"),
            "workdays": _dates(form, "workdays"),
        },
    }
    return data, errors


def _rows(form, day: str):
    return zip_longest(form.getlist(f"{day}_start"), form.getlist(f"{day}_end"), fillvalue="")


def _dates(form, name: str) -> list[str]:
    return sorted({value.strip() for value in form.getlist(name) if value.strip()})


def _values(schedule: Schedule) -> dict:
    """What the form shows for a saved schedule (the same shape as a re-rendered form)."""
    data = schedule.to_json()
    return {
        "timezone": data["timezone"],
        "country": data["holidays"]["country"] or "",
        "week": {day: [(a, "00:00" if b == "24:00" else b) for a, b in data["week"][day]] for day in WEEKDAYS},
        "extra": data["holidays"]["extra"],
        "workdays": data["holidays"]["workdays"],
    }


def _values_from_form(form) -> dict:
    return {
        "timezone": form.get("timezone", ""),
        "country": form.get("country", ""),
        "week": {
            day: [(a, b) for a, b in _rows(form, day) if a or b]
            for day in WEEKDAYS
        },
        "extra": [v for v in form.getlist("extra") if v.strip()],
        "workdays": [v for v in form.getlist("workdays") if v.strip()],
    }


def _page(schedule: Schedule | None, values: dict | None = None, errors: dict | None = None):
    """The page; the check panel always shows the saved schedule, not a rejected draft."""
    saved = settings.schedule()
    values = values or _values(schedule or saved)
    now = datetime.now(timezone.utc)
    local_now = now.astimezone(ZoneInfo(saved.timezone))
    countries = list(COUNTRIES)
    if values["country"] and values["country"] not in dict(countries):
        countries.append((values["country"], values["country"]))  # set through the API
    return render_template(
        "schedule/index.html",
        values=values, errors=errors or {}, weekdays=WEEKDAYS, day_names=DAY_NAMES,
        countries=countries, russian_zones=RUSSIAN_ZONES, all_zones=sorted(available_timezones()),
        working_now=is_working_time(saved, now), local_now=local_now, short_days=SHORT_DAYS,
        upcoming=upcoming_non_working_days(saved, local_now.date(), UPCOMING), saved=saved,
    )
