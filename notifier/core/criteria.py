"""A notification rule's criteria: validation of the API body, its JSON form and
the Russian one-line summary shown in the rules list.

Decisions worth knowing (also in the README):

- ``time`` and ``callers`` only filter missed calls. When ``missed_calls`` is not
  among the types they are ignored and normalised to ``all`` (the UI disables
  those blocks, so whatever stale values it sends are not the user's intent).
  When ``types`` itself is invalid they are still validated, so that every
  error is reported at once.
- ``null`` for an optional key means the key is absent (``time``, ``callers``
  and the ``period`` fields), so the JSON this module emits parses back.
- A period runs ``from`` (inclusive) to ``to`` (exclusive); ``to`` may be
  ``"24:00"``. When ``to`` is earlier than ``from`` the period runs past
  midnight and the part after midnight belongs to the weekday *and date* on
  which it started: a Saturday 22:00-06:00 period covers Sat 22:00 to Sun 06:00,
  and an ``end_date`` of Friday still covers that Friday night.
- A period must narrow something (weekdays, hours or dates); ``from == to`` is
  an error.
- Listed numbers are canonicalised with :func:`phones.normalize`, de-duplicated
  keeping the first occurrence, and capped at :data:`MAX_NUMBERS`.
- In the summary «Все» means "all callers", whatever the time criterion:
  «Все пропущенные звонки по сб, вс с 10:00 до 18:00».
- ``morning_digest`` (optional, default false) asks for the morning summary of
  the night's open missed calls (notifier.core.digest); like time and
  callers it belongs to missed calls and is false without them. The JSON
  carries it only when true, so rules stored before it are unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from notifier.core import phones
from notifier.core.fielderrors import FieldErrors

TYPES = ("missed_calls", "voicemail")
TIME_MODES = ("all", "work_hours", "off_hours", "period")
CALLER_MODES = ("all", "listed", "vip")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # same order as workhours.WEEKDAYS
MAX_NUMBERS = 500
DAY_MINUTES = 24 * 60

_WEEKDAY_SHORT_RU = dict(zip(WEEKDAYS, ("пн", "вт", "ср", "чт", "пт", "сб", "вс")))
_TIME_RE = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MAX_SHOWN = 40
_MAX_NUMBER_LEN = 64  # longer strings are not phone numbers; keeps phonenumbers' work bounded


@dataclass(frozen=True)
class Period:
    """A set period: weekdays (in WEEKDAYS order), minutes [from, to) and inclusive dates."""

    weekdays: tuple[str, ...] = WEEKDAYS
    from_minute: int = 0
    to_minute: int = DAY_MINUTES
    start_date: date | None = None
    end_date: date | None = None

    @property
    def overnight(self) -> bool:
        """True when the hours run past midnight (22:00-06:00)."""
        return self.to_minute < self.from_minute

    @property
    def whole_day(self) -> bool:
        return self.from_minute == 0 and self.to_minute == DAY_MINUTES


@dataclass(frozen=True)
class Criteria:
    """Validated criteria of one rule; ``numbers`` are canonical (phones.normalize)."""

    types: frozenset[str]
    time_mode: str = "all"
    period: Period | None = None
    callers_mode: str = "all"
    numbers: tuple[str, ...] = ()
    morning_digest: bool = False


# --------------------------------------------------------------------------- parsing


def _shown(value: Any) -> str:
    """A user value safe to echo in a message: short, and only if it is a string."""
    if not isinstance(value, str):
        return ""
    text = "".join(ch if ch.isprintable() else "?" for ch in value[: _MAX_SHOWN + 1])
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"


def _with_value(message: str, value: Any) -> str:
    shown = _shown(value)
    return f"{message}: {shown}" if shown else message


def _parse_types(raw: Any, errors: dict[str, str]) -> frozenset[str] | None:
    if raw is None:
        errors["types"] = "Выберите хотя бы один тип уведомлений"
        return None
    if not isinstance(raw, list):
        errors["types"] = "Ожидается список типов уведомлений"
        return None
    for item in raw:
        if not isinstance(item, str) or item not in TYPES:
            errors["types"] = _with_value("Неизвестный тип уведомлений", item)
            return None
    if not raw:
        errors["types"] = "Выберите хотя бы один тип уведомлений"
        return None
    return frozenset(raw)


def _parse_clock(raw: Any, *, allow_24: bool) -> int | None:
    """"HH:MM" to minutes since midnight, or None when invalid."""
    if not isinstance(raw, str) or len(raw) > 5:
        return None
    m = _TIME_RE.match(raw)
    if not m:
        return None
    hours, minutes = int(m.group(1)), int(m.group(2))
    if allow_24 and hours == 24 and minutes == 0:
        return DAY_MINUTES
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def _parse_date(raw: Any) -> date | None:
    if not isinstance(raw, str) or not _DATE_RE.match(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _parse_period(raw: Any, errors: dict[str, str]) -> Period | None:
    key = "time.period"
    if raw is None:
        errors[key] = "Укажите период"
        return None
    if not isinstance(raw, dict):
        errors[key] = "Неверный период"
        return None
    before = len(errors)

    weekdays = WEEKDAYS
    raw_days = raw.get("weekdays")
    if raw_days is not None:
        if not isinstance(raw_days, list):
            errors[f"{key}.weekdays"] = "Ожидается список дней недели"
        elif not raw_days:
            errors[f"{key}.weekdays"] = "Выберите хотя бы один день недели"
        else:
            bad = [d for d in raw_days if not isinstance(d, str) or d not in WEEKDAYS]
            if bad:
                errors[f"{key}.weekdays"] = _with_value("Неизвестный день недели", bad[0])
            else:
                weekdays = tuple(d for d in WEEKDAYS if d in raw_days)

    from_minute, to_minute = 0, DAY_MINUTES
    if raw.get("from") is not None:
        parsed = _parse_clock(raw["from"], allow_24=False)
        if parsed is None:
            errors[f"{key}.from"] = "Укажите время в формате ЧЧ:ММ"
        else:
            from_minute = parsed
    if raw.get("to") is not None:
        parsed = _parse_clock(raw["to"], allow_24=True)
        if parsed is None:
            errors[f"{key}.to"] = "Укажите время в формате ЧЧ:ММ"
        else:
            to_minute = parsed
    if from_minute == to_minute and f"{key}.from" not in errors:
        errors.setdefault(f"{key}.to", "Время окончания должно отличаться от времени начала")

    dates: dict[str, date | None] = {"start_date": None, "end_date": None}
    for name in dates:
        if raw.get(name) is not None:
            dates[name] = _parse_date(raw[name])
            if dates[name] is None:
                errors[f"{key}.{name}"] = "Укажите дату в формате ГГГГ-ММ-ДД"
    start_date, end_date = dates["start_date"], dates["end_date"]
    if start_date and end_date and end_date < start_date:
        errors[f"{key}.end_date"] = "Дата окончания раньше даты начала"

    if len(errors) > before:
        return None
    period = Period(weekdays, from_minute, to_minute, start_date, end_date)
    if period.weekdays == WEEKDAYS and period.whole_day and not start_date and not end_date:
        errors[key] = "Ограничьте период днями недели, временем или датами"
        return None
    return period


def _parse_time(raw: Any, errors: dict[str, str]) -> tuple[str, Period | None]:
    if raw is None:
        return "all", None
    if not isinstance(raw, dict):
        errors["time"] = "Неверный критерий времени"
        return "all", None
    mode = raw.get("mode")
    if mode is None:
        errors["time.mode"] = "Выберите критерий времени"
        return "all", None
    if not isinstance(mode, str) or mode not in TIME_MODES:
        errors["time.mode"] = _with_value("Неизвестный критерий времени", mode)
        return "all", None
    if mode != "period":
        return mode, None
    return mode, _parse_period(raw.get("period"), errors)


def _canonical_number(raw: Any) -> tuple[str | None, str | None]:
    """(canonical, None) or (None, problem): "empty", "hidden", "invalid" or
    phones.InvalidNumber's Russian message (which may carry a hint)."""
    if not isinstance(raw, str):
        return None, "invalid"
    if not raw.strip():
        return None, "empty"
    if len(raw) > _MAX_NUMBER_LEN:
        return None, "invalid"
    try:
        if phones.is_hidden(raw):
            return None, "hidden"
        canonical = phones.normalize(raw)
    except phones.InvalidNumber as exc:
        return None, str(exc)
    except Exception:  # anything odd phonenumbers trips over is still just invalid
        return None, "invalid"
    if canonical is None:
        return None, "hidden"
    return canonical, None


def _parse_numbers(raw: Any, errors: dict[str, str]) -> tuple[str, ...]:
    key = "callers.numbers"
    if raw is None:
        errors[key] = "Добавьте хотя бы один номер"
        return ()
    if not isinstance(raw, list):
        errors[key] = "Ожидается список номеров"
        return ()
    if not raw:
        errors[key] = "Добавьте хотя бы один номер"
        return ()
    if len(raw) > MAX_NUMBERS:
        errors[key] = f"Можно указать не больше {MAX_NUMBERS} номеров"
        return ()
    canonical: dict[str, None] = {}  # ordered set
    invalid: list[Any] = []
    messages: list[str] = []
    empty = hidden = False
    for item in raw:
        number, problem = _canonical_number(item)
        if number is not None:
            canonical.setdefault(number)
        elif problem == "empty":
            empty = True
        elif problem == "hidden":
            hidden = True
        else:
            invalid.append(item)
            messages.append(problem if problem != "invalid" else "")
    if len(invalid) == 1 and messages[0]:
        errors[key] = messages[0]
    elif invalid:
        shown = [s for s in (_shown(v) for v in invalid) if s][:3]
        message = "Неверный номер телефона" if len(invalid) == 1 else "Неверные номера телефонов"
        if shown:
            message += ": " + ", ".join(shown)
            if len(invalid) > len(shown):
                message += f" и ещё {len(invalid) - len(shown)}"
        errors[key] = message
    elif hidden:
        errors[key] = "Скрытый номер нельзя указать в правиле"
    elif empty:
        errors[key] = "Номер не может быть пустым"
    return tuple(canonical)


def _parse_callers(raw: Any, errors: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    if raw is None:
        return "all", ()
    if not isinstance(raw, dict):
        errors["callers"] = "Неверный критерий номеров"
        return "all", ()
    mode = raw.get("mode")
    if mode is None:
        errors["callers.mode"] = "Выберите критерий номеров"
        return "all", ()
    if not isinstance(mode, str) or mode not in CALLER_MODES:
        errors["callers.mode"] = _with_value("Неизвестный критерий номеров", mode)
        return "all", ()
    if mode != "listed":
        return mode, ()
    return mode, _parse_numbers(raw.get("numbers"), errors)


def parse_criteria(body: Any) -> Criteria:
    """Validate an API rule body (extra keys such as ``subscribers`` are ignored).

    Raises FieldErrors with every problem found, keyed by field path.
    """
    if not isinstance(body, dict):
        raise FieldErrors({"body": "Ожидается JSON-объект"})
    errors: dict[str, str] = {}
    types = _parse_types(body.get("types"), errors)
    if types is not None and "missed_calls" not in types:
        # Voicemail only: time and callers never apply, whatever was sent.
        if errors:
            raise FieldErrors(errors)
        return Criteria(types=types)
    time_mode, period = _parse_time(body.get("time"), errors)
    callers_mode, numbers = _parse_callers(body.get("callers"), errors)
    digest = body.get("morning_digest")
    if digest is not None and not isinstance(digest, bool):
        errors["morning_digest"] = "Ожидается true или false"
    if errors or types is None:
        raise FieldErrors(errors)
    return Criteria(types, time_mode, period, callers_mode, numbers, bool(digest))


# --------------------------------------------------------------------------- JSON


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _period_to_json(p: Period) -> dict:
    return {
        "weekdays": list(p.weekdays),
        "from": _clock(p.from_minute),
        "to": _clock(p.to_minute),
        "start_date": p.start_date.isoformat() if p.start_date else None,
        "end_date": p.end_date.isoformat() if p.end_date else None,
    }


def criteria_to_json(c: Criteria) -> dict:
    """The API shape ``{types, time, callers}``; listed numbers in display form."""
    time: dict[str, Any] = {"mode": c.time_mode}
    if c.time_mode == "period" and c.period is not None:
        time["period"] = _period_to_json(c.period)
    callers: dict[str, Any] = {"mode": c.callers_mode}
    if c.callers_mode == "listed":
        callers["numbers"] = [phones.display(n) for n in c.numbers]
    data = {"types": [t for t in TYPES if t in c.types], "time": time, "callers": callers}
    if c.morning_digest:
        data["morning_digest"] = True
    return data


def merge_changes(current: Any, changes: Any) -> dict:
    """Body for PATCH / bulk update: top-level ``types``/``time``/``callers``/``morning_digest`` of
    ``changes`` replace the current ones whole (no deep merge, so a changed
    ``callers`` never keeps stale numbers). Other keys are dropped, which is how
    bulk update keeps each rule's subscriber."""
    if not isinstance(changes, dict):
        raise FieldErrors({"changes": "Ожидается JSON-объект"})
    current = current if isinstance(current, dict) else {}
    merged = {}
    for key in ("types", "time", "callers", "morning_digest"):
        if key in changes:
            merged[key] = changes[key]
        elif key in current:
            merged[key] = current[key]
    return merged


# --------------------------------------------------------------------------- summary


def _numbers_phrase(numbers: tuple[str, ...]) -> str:
    shown = [phones.display(n) for n in numbers[:3]]
    word = "номера" if len(numbers) == 1 else "номеров"
    text = f"с {word} " + ", ".join(shown)
    if len(numbers) > 3:
        text += f" и ещё {len(numbers) - 3}"
    return text


def _period_phrase(p: Period) -> str:
    when = []
    if p.weekdays != WEEKDAYS:
        when.append("по " + ", ".join(_WEEKDAY_SHORT_RU[d] for d in p.weekdays))
    if not p.whole_day:
        when.append(f"с {_clock(p.from_minute)} до {_clock(p.to_minute)}")
    dates = []
    if p.start_date:
        dates.append("с " + p.start_date.strftime("%d.%m.%Y"))
    if p.end_date:
        dates.append("по " + p.end_date.strftime("%d.%m.%Y"))
    parts = [" ".join(when)] if when else []
    if dates:
        parts.append(" ".join(dates))
    return ", ".join(parts)


def _time_phrase(c: Criteria) -> str:
    if c.time_mode == "work_hours":
        return "в рабочее время"
    if c.time_mode == "off_hours":
        return "в нерабочее время"
    if c.time_mode == "period" and c.period is not None:
        return _period_phrase(c.period)
    return ""


def summary(c: Criteria) -> str:
    """The Russian sentence for the rules list and the API's ``summary``.

    Grammar: [«Голосовые сообщения» [и]] [«Все пропущенные звонки» | «Пропущенные
    звонки с VIP-номеров» | «… с номеров A, B, C и ещё N»] [time phrase]
    [«; утренняя сводка»].
    """
    parts = []
    if "voicemail" in c.types:
        parts.append("Голосовые сообщения")
    if "missed_calls" in c.types:
        if c.callers_mode == "vip":
            words = ["Пропущенные звонки с VIP-номеров"]
        elif c.callers_mode == "listed":
            words = ["Пропущенные звонки", _numbers_phrase(c.numbers)]
        else:
            words = ["Все пропущенные звонки"]
        time = _time_phrase(c)
        if time:
            words.append(time)
        missed = " ".join(words)
        if parts:
            missed = missed[0].lower() + missed[1:]
        parts.append(missed)
    text = " и ".join(parts)
    return text + "; утренняя сводка" if c.morning_digest else text
