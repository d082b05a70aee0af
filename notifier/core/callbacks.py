"""Callback state of missed calls (issue 16): which events open a missed call,
which close open ones, and the time it took, as pure functions.

A missed call is opened by every event ``decide.event_kind`` calls a missed
call, whether or not anyone was notified. It is *called back* by a later
answered call between the office and that number, in either direction:

* ``outgoing`` answered, to that number, from any employee (by = ``from``);
* incoming (internal or external, any routing) answered, from that number,
  by anyone (by = ``to``).

"Later" means the closing call started after the missed one (a callback
reported late or processed out of order still counts; an earlier call never
does). Numbers are compared as canonical keys (``core.phones``), so notation
never matters; a hidden number never matches anything. An admin may also
close a missed call by hand.
"""
from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from notifier.core.decide import MISSED_CALL, event_kind
from notifier.core.events import CALL_ENDED, CallEvent

OPEN = "open"
CALLED_BACK = "called_back"
CLOSED = "closed"
STATUSES = (OPEN, CALLED_BACK, CLOSED)

OUTGOING = "outgoing"  # an employee called the number back
INCOMING = "incoming"  # the caller rang again and got through
MANUAL = "manual"  # an admin closed it
HOWS = (OUTGOING, INCOMING, MANUAL)


@dataclass(frozen=True)
class Resolution:
    """What an answered call says: open missed calls from ``caller_key`` that
    started before ``at`` are called back by ``by_number`` (an employee)."""

    caller_key: str
    by_number: str | None
    how: str
    at: datetime


@dataclass(frozen=True)
class MissedCall:
    """The state of one missed call, as the table tests and the service see it."""

    caller_key: str | None
    missed_at: datetime
    callee: str = ""
    status: str = OPEN
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolved_how: str | None = None


def opens(call: CallEvent) -> bool:
    """Whether the event is a missed call (rule 1 of events.md), hidden caller or not."""
    kind, _ = event_kind(call)
    return kind == MISSED_CALL


def resolution(call: CallEvent) -> Resolution | None:
    """The callback an answered call makes, or None (not answered, hidden number...)."""
    if call.type != CALL_ENDED or call.result != "answered":
        return None
    if call.direction == "outgoing":
        if call.callee is None:
            return None
        return Resolution(call.callee, call.caller, OUTGOING, call.started_at)
    if call.direction in ("internal", "external"):
        if call.caller is None:  # a hidden caller matches no missed call
            return None
        return Resolution(call.caller, call.callee, INCOMING, call.started_at)
    return None


def resolves(missed: MissedCall, res: Resolution) -> bool:
    """Whether ``res`` calls back ``missed``: still open, same number, started later."""
    return (missed.status == OPEN and missed.caller_key is not None
            and missed.caller_key == res.caller_key and res.at > missed.missed_at)


def called_back(missed: MissedCall, res: Resolution) -> MissedCall:
    """``missed`` after ``res`` (unchanged when ``res`` does not resolve it)."""
    if not resolves(missed, res):
        return missed
    return replace(missed, status=CALLED_BACK, resolved_at=res.at, resolved_by=res.by_number,
                   resolved_how=res.how)


def closed_by_hand(missed: MissedCall, by: str, now: datetime) -> MissedCall:
    """``missed`` closed by an admin; a call no longer open stays as it was."""
    if missed.status != OPEN:
        return missed
    return replace(missed, status=CLOSED, resolved_at=now, resolved_by=by, resolved_how=MANUAL)


def first_resolution(missed: MissedCall, seen: Iterable[Resolution]) -> Resolution | None:
    """The earliest of ``seen`` (callbacks processed before the missed call
    itself, e.g. by a worker running in parallel) that resolves ``missed``."""
    matching = [res for res in seen if resolves(missed, res)]
    return min(matching, key=lambda res: res.at, default=None)


def time_to_callback(missed_at: datetime, resolved_at: datetime | None, how: str | None) -> timedelta | None:
    """From the missed call's start to the callback's start; None unless called back."""
    if resolved_at is None or how not in (OUTGOING, INCOMING):
        return None
    return max(resolved_at - missed_at, timedelta(0))


def replay(calls: Iterable[CallEvent]) -> list[MissedCall]:
    """The missed calls a sequence of events leaves, in the order given.

    The reference for the service: a missed call opens a row (a repeat opens a
    second one) that a callback seen before already resolves; an answered call
    resolves every open row it ``resolves``.
    """
    rows: list[MissedCall] = []
    seen: list[Resolution] = []
    for call in calls:
        if opens(call):
            row = MissedCall(caller_key=call.caller, missed_at=call.started_at, callee=call.callee)
            res = first_resolution(row, seen)
            rows.append(called_back(row, res) if res else row)
            continue
        res = resolution(call)
        if res is not None:
            seen.append(res)
            rows = [called_back(row, res) for row in rows]
    return rows


# --- wording (the «Пропущенные» page, the API's state_text, the Telegram message) ---

STATUS_TEXTS = {OPEN: "Открыт", CALLED_BACK: "Перезвонили", CLOSED: "Закрыт вручную"}
HOW_TEXTS = {OUTGOING: "Перезвонили", INCOMING: "Дозвонился сам", MANUAL: "Закрыт вручную"}


def duration_text(delta: timedelta) -> str:
    """«12 мин», «1 ч 5 мин», «2 дн 3 ч», «40 с»: rounded down, the two largest units."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} с"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} мин"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} ч {minutes} мин" if minutes else f"{hours} ч"
    days, hours = divmod(hours, 24)
    return f"{days} дн {hours} ч" if hours else f"{days} дн"


def state_text(status: str, how: str | None, by: str | None, missed_local: datetime,
               resolved_local: datetime | None) -> str:
    """«Открыт» / «Перезвонили: Иванов, 10:42, через 12 мин» / «Дозвонился сам: …» / «Закрыт вручную».

    ``by`` is who called back as people know them (a name, else the number);
    times are wall-clock in the company zone; the date is added when the
    callback came on another day than the missed call.
    """
    if status == OPEN or resolved_local is None:
        return STATUS_TEXTS[OPEN]
    if status == CLOSED or how == MANUAL:
        return STATUS_TEXTS[CLOSED]
    fmt = "%H:%M" if resolved_local.date() == missed_local.date() else "%d.%m %H:%M"
    parts = [by] if by else []
    parts += [resolved_local.strftime(fmt), "через " + duration_text(resolved_local - missed_local)]
    return f"{HOW_TEXTS.get(how or OUTGOING, STATUS_TEXTS[CALLED_BACK])}: " + ", ".join(parts)


# --- the chart: missed calls per day, the called-back share, the median time ---


@dataclass(frozen=True)
class Day:
    day: date
    missed: int = 0
    called_back: int = 0

    @property
    def share(self) -> float | None:
        """Called back / missed, None on a day without missed calls."""
        return self.called_back / self.missed if self.missed else None


@dataclass(frozen=True)
class Stats:
    days: list[Day] = field(default_factory=list)
    median: timedelta | None = None  # time to callback of the calls called back

    @property
    def missed(self) -> int:
        return sum(d.missed for d in self.days)

    @property
    def called_back(self) -> int:
        return sum(d.called_back for d in self.days)

    @property
    def share(self) -> float | None:
        return self.called_back / self.missed if self.missed else None


def daily_stats(rows: Iterable[MissedCall], zone: str, first: date, last: date) -> Stats:
    """Per company-zone day from ``first`` to ``last`` (every day, zeros too):
    missed calls, how many were called back; and the median time to callback
    over the period. Rows outside the days are ignored."""
    tz = ZoneInfo(zone)
    counts: dict[date, list[int]] = {}
    waits: list[timedelta] = []
    for row in rows:
        day = row.missed_at.astimezone(tz).date()
        if not first <= day <= last:
            continue
        bucket = counts.setdefault(day, [0, 0])
        bucket[0] += 1
        wait = time_to_callback(row.missed_at, row.resolved_at, row.resolved_how)
        if row.status == CALLED_BACK and wait is not None:
            bucket[1] += 1
            waits.append(wait)
    days = []
    day = first
    while day <= last:
        missed, back = counts.get(day, (0, 0))
        days.append(Day(day, missed, back))
        day += timedelta(days=1)
    return Stats(days, statistics.median(waits) if waits else None)
