"""Missed calls and their callback state (issue 16) in the database.

The rules are ``core.callbacks`` (pure); this module applies them to rows:

- ``track`` runs inside the processing job's transaction, once per event, so a
  missed call is recorded (or a callback applied) exactly when the event's
  decision is, and a redelivered event or a re-run job changes nothing again
  (``processed_at`` and the unique ``missed_calls.event_id``).
- A missed call opened after its callback was already stored (events
  processed out of order or by two workers at once) looks the callback up
  among the stored events, so the order of processing never matters.
- Whoever needs to hear of a state change (the Telegram message) subscribes
  with ``on_change``; listeners get the ids after the commit.
- The «Пропущенные» page and ``/api/v1/missed-calls`` share ``parse_filters``
  (lenient for the page, its errors a 422 for the API), ``listed`` (newest
  first, keyset paging by ``before`` like the «Журнал») and ``stats``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, union_all, update
from sqlalchemy.orm import selectinload

from notifier.core import callbacks as cb
from notifier.core import localtime, phones
from notifier.core.events import CALL_ENDED, CallEvent, parse_event
from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import MAX_ID, Event, MissedCall, Subscriber, utcnow
from notifier.services import list_params

log = logging.getLogger(__name__)

_listeners: list[Callable[[list[int]], None]] = []


def on_change(listener: Callable[[list[int]], None]) -> Callable[[list[int]], None]:
    """Register ``listener(ids)``, called after a commit that called back or closed those missed calls."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def changed(ids: list[int]) -> None:
    """Tell the listeners; one failing never stops the others nor the caller."""
    if not ids:
        return
    for listener in list(_listeners):
        try:
            listener(list(ids))
        except Exception:  # noqa: BLE001 - a listener's fault must not undo a committed change
            log.exception("missed-call listener %r failed for %s", listener, ids)


def _subscriber_id(number_key: str | None) -> int | None:
    if number_key is None:
        return None
    return db.session.scalar(select(Subscriber.id).where(Subscriber.number_key == number_key))


def _apply(row: MissedCall, res: cb.Resolution, by_subscriber_id: int | None, resolved_event_id: int) -> None:
    row.status = cb.CALLED_BACK
    row.resolved_at = res.at
    row.resolved_by_number = res.by_number
    row.resolved_by_subscriber_id = by_subscriber_id
    row.resolved_how = res.how
    row.resolved_event_id = resolved_event_id


def _stored_callback(row: MissedCall) -> tuple[cb.Resolution, int] | None:
    """The earliest stored answered call that calls ``row`` back (with its event's pk).

    Two indexed look-ups (in one statement) rather than one OR: outgoing calls to the number
    (``ix_events_callee_key``) and answered calls from it (the partial
    ``ix_events_answered_caller``), so the cost does not grow with the traffic.
    """
    later = (Event.type == CALL_ENDED, Event.result == "answered", Event.started_at > row.missed_at)
    candidates = db.session.execute(union_all(
        select(Event.id, Event.payload).where(Event.callee_key == row.caller_key, *later),
        select(Event.id, Event.payload).where(Event.caller_key == row.caller_key, *later),
    )).all()
    found: dict[cb.Resolution, int] = {}
    for pk, payload in sorted(candidates):
        try:
            res = cb.resolution(parse_event(payload))
        except FieldErrors:
            continue
        if res is not None:
            found.setdefault(res, pk)
    state = cb.MissedCall(caller_key=row.caller_key, missed_at=row.missed_at)
    best = cb.first_resolution(state, found)
    return None if best is None else (best, found[best])


def track(event: Event, call: CallEvent, subscriber: Subscriber | None, vip: bool) -> list[int]:
    """Record what the event means for callbacks; returns the ids of the missed
    calls it called back (pass them to ``changed`` after the commit).

    Call within the transaction that stores the event's decision, before its
    commit; ``call`` is the parsed event, ``subscriber`` the one processing
    considered (``to`` for an incoming call, ``from`` for an outgoing one),
    ``vip`` whether the caller is a VIP client now. Flushes, so a concurrent run
    that opened the same missed call fails with IntegrityError like the decision.
    """
    if cb.opens(call):
        row = MissedCall(
            event_id=event.id, subscriber_id=subscriber.id if subscriber else None,
            subscriber_number=call.callee, caller=event.caller or "", caller_key=call.caller,
            vip=vip, missed_at=call.started_at, status=cb.OPEN,
        )
        db.session.add(row)
        if call.caller is None:
            db.session.flush()
            return []
        stored = _stored_callback(row)
        if stored is not None:
            res, pk = stored
            _apply(row, res, _subscriber_id(res.by_number), pk)
        db.session.flush()
        return [row.id] if stored is not None else []
    res = cb.resolution(call)
    if res is None:
        return []
    rows = db.session.scalars(
        select(MissedCall).where(
            MissedCall.caller_key == res.caller_key, MissedCall.status == cb.OPEN,
            MissedCall.missed_at < res.at,
        ).order_by(MissedCall.id).with_for_update()
    ).all()
    if not rows:
        return []
    if subscriber is not None and res.by_number is not None and subscriber.number_key == res.by_number:
        by_id = subscriber.id
    else:
        by_id = _subscriber_id(res.by_number)
    for row in rows:
        _apply(row, res, by_id, event.id)
    db.session.flush()
    return [row.id for row in rows]


# --- closing by hand ------------------------------------------------------------

API = "API"  # resolved_by_user_email of a call closed through the API


def close_by_hand(missed_id: int, by: str, now: datetime | None = None) -> tuple[MissedCall | None, bool]:
    """Close an open missed call for the admin ``by`` (an email, or ``API``); commits.

    Returns (the row or None if there is none, whether this call closed it).
    One conditional UPDATE, so a callback processed at the same moment and the
    admin never both win: whichever commits first decides the state.
    """
    if not (isinstance(missed_id, int) and 0 < missed_id <= MAX_ID):
        return None, False
    now = now or utcnow()
    done = db.session.execute(
        update(MissedCall).where(MissedCall.id == missed_id, MissedCall.status == cb.OPEN).values(
            status=cb.CLOSED, resolved_at=now, resolved_how=cb.MANUAL, resolved_by_user_email=by[:254],
            resolved_by_number=None, resolved_by_subscriber_id=None, resolved_event_id=None,
        ).execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(MissedCall, missed_id)
    if done:
        changed([missed_id])
    return row, done


# --- filters ----------------------------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = list_params.MAX_LIMIT
MAX_DAYS = 366  # the longest period the chart draws
DEFAULT_DAYS = 14  # the page's period when none is chosen
_TRUE = ("1", "true", "on", "yes")
_FALSE = ("", "0", "false", "off", "no")


@dataclass
class Filters:
    subscriber_id: int | None = None
    status: str = ""  # one of core.callbacks.STATUSES; "open" is the page's «Только открытые»
    vip_only: bool = False
    date_from: date | None = None  # company-zone days, both included
    date_to: date | None = None
    before: int | None = None  # keyset: rows listed after this one
    limit: int = DEFAULT_LIMIT

    @property
    def open_only(self) -> bool:
        return self.status == cb.OPEN

    def query_args(self, **changes) -> dict[str, Any]:
        """The query string of these filters (for links and polling), without empty values."""
        values = {"subscriber": self.subscriber_id, "status": self.status, "vip": "1" if self.vip_only else None,
                  "from": self.date_from.isoformat() if self.date_from else None,
                  "to": self.date_to.isoformat() if self.date_to else None, "before": self.before}
        values.update(changes)
        if self.limit != DEFAULT_LIMIT:
            values["limit"] = self.limit
        return {k: v for k, v in values.items() if v not in (None, "")}


def _day(raw: str) -> date:
    raw = raw.strip()
    if len(raw) != 10 or not raw.isascii():
        raise ValueError
    day = date.fromisoformat(raw)
    if not 2000 <= day.year <= 2100:  # no call is older; and day + 1 must stay a date
        raise ValueError
    return day


def parse_filters(args) -> tuple[Filters, dict[str, str]]:
    """Filters from a query string, plus a Russian message per parameter that was not understood.

    ``subscriber`` (id), ``status`` (open, called_back, closed) or ``open_only``,
    ``vip``, ``from``/``to`` (YYYY-MM-DD, company zone, both included), ``before``
    (a missed-call id: rows after it), ``limit`` (1-200).
    """
    filters, errors = Filters(), {}
    list_params.read_ids_and_limit(args, filters, errors)
    for name, attr in (("open_only", None), ("vip", "vip_only")):
        raw = (args.get(name) or "").strip().lower()
        if raw in _TRUE:
            if attr:
                setattr(filters, attr, True)
            else:
                filters.status = cb.OPEN
        elif raw not in _FALSE:
            errors[name] = "Укажите 1 или 0"
    status = (args.get("status") or "").strip()
    if status in cb.STATUSES:
        if filters.status and filters.status != status:
            errors["status"] = "Не сочетается с open_only"
        filters.status = status
    elif status:
        errors["status"] = "Допустимые значения: " + ", ".join(cb.STATUSES)
    for name, attr in (("from", "date_from"), ("to", "date_to")):
        raw = args.get(name)
        if raw in (None, ""):
            continue
        try:
            setattr(filters, attr, _day(raw))
        except ValueError:
            errors[name] = "Укажите дату в виде ГГГГ-ММ-ДД"
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors["to"] = "Конец периода раньше начала"
        filters.date_to = None
    return filters, errors


def period(filters: Filters, today: date, default_days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """The days the chart draws: the filters' period, filled in and cut to MAX_DAYS
    (the last ``default_days`` up to ``today`` when none is chosen)."""
    last = filters.date_to or (max(today, filters.date_from) if filters.date_from else today)
    first = filters.date_from or (last - timedelta(days=default_days - 1))
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return first, last


def _utc_bounds(first: date | None, last: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    tz = ZoneInfo(zone)
    start = datetime.combine(first, time(), tz) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), tz) if last else None
    return start, end


def _conditions(filters: Filters, zone: str, with_status: bool = True) -> list:
    conditions = []
    if filters.subscriber_id:
        conditions.append(MissedCall.subscriber_id == filters.subscriber_id)
    if filters.status and with_status:
        conditions.append(MissedCall.status == filters.status)
    if filters.vip_only:
        conditions.append(MissedCall.vip.is_(True))
    start, end = _utc_bounds(filters.date_from, filters.date_to, zone)
    if start:
        conditions.append(MissedCall.missed_at >= start)
    if end:
        conditions.append(MissedCall.missed_at < end)
    return conditions


# --- listing ---------------------------------------------------------------------


@dataclass
class Entry:
    """A missed call as the page and the API show it."""

    row: MissedCall
    zone: str

    @property
    def callee_name(self) -> str:
        sub = self.row.subscriber
        return (sub.name or sub.number) if sub else phones.display(self.row.subscriber_number)

    @property
    def caller_text(self) -> str:
        if self.row.caller_key is None:
            return "Номер скрыт"
        return phones.display(self.row.caller_key)

    @property
    def by_name(self) -> str | None:
        """Who called back as people know them: the employee's name, else the number."""
        sub = self.row.resolved_by_subscriber
        if sub is not None:
            return sub.name or sub.number
        return phones.display(self.row.resolved_by_number) if self.row.resolved_by_number else None

    @property
    def time_to_callback(self) -> timedelta | None:
        return cb.time_to_callback(self.row.missed_at, self.row.resolved_at, self.row.resolved_how)

    @property
    def wait_text(self) -> str:
        wait = self.time_to_callback
        return cb.duration_text(wait) if wait is not None else "—"

    @property
    def state_text(self) -> str:
        row = self.row
        missed_local, _ = localtime.in_zone(row.missed_at, self.zone)
        resolved_local = localtime.in_zone(row.resolved_at, self.zone)[0] if row.resolved_at else None
        return cb.state_text(row.status, row.resolved_how, self.by_name, missed_local, resolved_local)

    @property
    def tone(self) -> str:
        return {cb.OPEN: "warn", cb.CALLED_BACK: "ok"}.get(self.row.status, "")

    def to_json(self) -> dict:
        row = self.row
        wait = self.time_to_callback
        sub = row.subscriber
        by = row.resolved_by_subscriber
        taken = row.taken_by_subscriber
        return {
            "id": row.id,
            "event_id": row.event.event_id if row.event else None,
            "subscriber": {"id": row.subscriber_id, "number": sub.number if sub else row.subscriber_number,
                           "name": sub.name if sub else ""},
            "caller": row.caller, "caller_number": row.caller_key, "vip": row.vip,
            "missed_at": _iso(row.missed_at),
            "status": row.status, "state_text": self.state_text,
            "resolved": None if row.status == cb.OPEN else {
                "at": _iso(row.resolved_at), "how": row.resolved_how,
                "by": ({"id": row.resolved_by_subscriber_id, "number": row.resolved_by_number,
                        "name": by.name if by else ""} if row.resolved_how != cb.MANUAL else None),
                "closed_by": row.resolved_by_user_email if row.resolved_how == cb.MANUAL else None,
                "event_id": row.resolved_event.event_id if row.resolved_event else None,
            },
            "time_to_callback_seconds": int(wait.total_seconds()) if wait is not None else None,
            "taken": None if row.taken_at is None else {
                "at": _iso(row.taken_at), "subscriber": {"id": row.taken_by_subscriber_id,
                                                         "name": taken.name if taken else ""}},
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class Page:
    entries: list[Entry]
    next_before: int | None


def _options():
    return (selectinload(MissedCall.subscriber), selectinload(MissedCall.resolved_by_subscriber),
            selectinload(MissedCall.taken_by_subscriber), selectinload(MissedCall.event),
            selectinload(MissedCall.resolved_event))


def listed(filters: Filters, zone: str) -> Page:
    """Newest first (by the call's time, then id); ``before`` continues after that row."""
    stmt = select(MissedCall).where(*_conditions(filters, zone)).options(*_options())
    if filters.before:
        anchor = db.session.get(MissedCall, filters.before)
        if anchor is not None:
            stmt = stmt.where(or_(MissedCall.missed_at < anchor.missed_at,
                                  and_(MissedCall.missed_at == anchor.missed_at, MissedCall.id < anchor.id)))
    rows = list(db.session.scalars(
        stmt.order_by(MissedCall.missed_at.desc(), MissedCall.id.desc()).limit(filters.limit + 1)))
    more = len(rows) > filters.limit
    rows = rows[:filters.limit]
    return Page([Entry(r, zone) for r in rows], rows[-1].id if more else None)


def get(missed_id: int, zone: str) -> Entry | None:
    if not (isinstance(missed_id, int) and 0 < missed_id <= MAX_ID):
        return None
    row = db.session.scalar(select(MissedCall).where(MissedCall.id == missed_id).options(*_options()))
    return Entry(row, zone) if row else None


def stats(filters: Filters, zone: str, first: date, last: date) -> cb.Stats:
    """Per day of [first, last] for the employee/VIP filters (not the state filter:
    the share of called-back calls needs all of them)."""
    scoped = Filters(subscriber_id=filters.subscriber_id, vip_only=filters.vip_only, date_from=first, date_to=last)
    rows = db.session.execute(
        select(MissedCall.caller_key, MissedCall.missed_at, MissedCall.status, MissedCall.resolved_at,
               MissedCall.resolved_how).where(*_conditions(scoped, zone, with_status=False))
    ).all()
    return cb.daily_stats(
        (cb.MissedCall(caller_key=k, missed_at=m, status=s, resolved_at=r, resolved_how=h) for k, m, s, r, h in rows),
        zone, first, last)


def any_missed_call() -> bool:
    return db.session.scalar(select(MissedCall.id).limit(1)) is not None
