"""«Проверить правило»: the call the rule dialog imagines, judged by ``decide``.

Pure: the dialog's three inputs (caller, local date and time, type) become the
CallEvent the worker would see for an external call put straight through to the
employee and not answered (or a voicemail left for them), so the verdict comes
from the very code that decides real events. Nothing is stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from notifier.core import phones
from notifier.core.decide import MISSED_CALL, VOICEMAIL
from notifier.core.events import CALL_ENDED, VOICEMAIL_RECEIVED, CallEvent
from notifier.core.fielderrors import FieldErrors

KINDS = {MISSED_CALL: "Пропущенный звонок", VOICEMAIL: "Голосовое сообщение"}
# A check is about the rule book, not history: years a person would mean.
FIRST_YEAR, LAST_YEAR = 2000, 2100
_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Probe:
    """A validated check: canonical caller (None: hidden), aware moment, kind."""

    caller_raw: str
    caller: str | None
    at: datetime
    kind: str


def parse_probe(number: str, at: str, kind: str, timezone: str) -> Probe:
    """The dialog's inputs, ``at`` being wall-clock time in ``timezone``; FieldErrors
    keyed ``check_number`` / ``check_at`` / ``check_type``, all reported at once."""
    errors: dict[str, str] = {}
    number = (number or "").strip()
    caller = None
    if not number:
        errors["check_number"] = "Введите номер звонящего (для скрытого номера — «скрыт»)"
    else:
        try:
            caller = phones.normalize(number)
        except phones.InvalidNumber as exc:
            errors["check_number"] = str(exc)
    moment = _local_moment((at or "").strip(), timezone, errors)
    if kind not in KINDS:
        errors["check_type"] = "Выберите: пропущенный звонок или голосовое сообщение"
    if errors:
        raise FieldErrors(errors)
    return Probe(number, caller, moment, kind)


def _local_moment(text: str, timezone: str, errors: dict[str, str]) -> datetime:
    if not text:
        errors["check_at"] = "Укажите дату и время звонка"
        return datetime.min
    for fmt in _FORMATS:
        try:
            local = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        errors["check_at"] = f"Неверные дата и время: «{text[:40]}», ожидается ДД.ММ.ГГГГ ЧЧ:ММ"
        return datetime.min
    if not FIRST_YEAR <= local.year <= LAST_YEAR:
        errors["check_at"] = f"Укажите дату с {FIRST_YEAR} по {LAST_YEAR} год"
        return datetime.min
    # A wall-clock time skipped or repeated by a DST change takes its first reading (fold=0).
    return local.replace(tzinfo=ZoneInfo(timezone))


def probe_event(probe: Probe, callee: str) -> CallEvent:
    """The event the worker would get for ``probe`` to the employee whose canonical number is ``callee``."""
    if probe.kind == VOICEMAIL:
        return CallEvent(id="rule-check", type=VOICEMAIL_RECEIVED, started_at=probe.at,
                         caller_raw=probe.caller_raw, caller=probe.caller, callee_raw=callee, callee=callee)
    return CallEvent(id="rule-check", type=CALL_ENDED, started_at=probe.at, ended_at=probe.at,
                     caller_raw=probe.caller_raw, caller=probe.caller, callee_raw=callee, callee=callee,
                     direction="external", routing="direct", result="no_answer")
