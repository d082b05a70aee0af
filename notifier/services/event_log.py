"""The «Журнал»: received call events with their decisions and deliveries.

One module for the log page and ``GET /api/v1/events[/{id}]`` so that both
filter and describe events the same way. Decisions:

- Newest first by the row id (the order events were received), with keyset
  pagination (``before`` = the smallest id shown): stable while new events
  arrive, cheap on a long table.
- Filters read query strings leniently for the page (a value that makes no
  sense is ignored, never a 500) and strictly for the API (422 that names it).
- The status filter uses the same precedence as ``core.reasons.event_status``,
  so a filtered list never shows a badge other than the one asked for.
- Callers are matched whatever their notation (``phones.normalize`` and a
  digits substring for active search while typing), or by a client's name
  from the notebook; employees through ``subscriber_search`` (the one search).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.orm import selectinload

from notifier.core import phones, reasons
from notifier.core.text import escape_format
from notifier.extensions import db
from notifier.models import MAX_ID, Contact, ContactNumber, Decision, Delivery, Event, Subscriber
from notifier.pbx import registry
from notifier.services import list_params, telegram_threads
from notifier.services.subscriber_search import MAX_QUERY, matching

DEFAULT_LIMIT = 50
MAX_LIMIT = list_params.MAX_LIMIT
_NON_DIGITS = re.compile(r"\D+")


# --- filters ----------------------------------------------------------------


@dataclass
class Filters:
    subscriber_id: int | None = None
    employee: str = ""  # search text: name, number, email, Telegram
    caller: str = ""  # a number in any notation, part of it, or a client's name
    status: str = ""  # one of reasons.EVENT_STATUSES
    before: int | None = None  # keyset: events with a smaller id
    limit: int = DEFAULT_LIMIT

    def query_args(self, **changes) -> dict[str, Any]:
        """The query string these filters come from (for links and polling), without empty values."""
        values = {"subscriber": self.subscriber_id, "employee": self.employee, "caller": self.caller,
                  "status": self.status, "before": self.before}
        values.update(changes)
        if self.limit != DEFAULT_LIMIT:
            values["limit"] = self.limit
        return {k: v for k, v in values.items() if v not in (None, "")}

    @property
    def active(self) -> bool:
        return bool(self.subscriber_id or self.employee or self.caller or self.status)


def _text(value: str | None) -> str:
    # NUL cannot be stored or compared by PostgreSQL; the rest is searched as typed.
    return (value or "").replace("\x00", "").strip()[:MAX_QUERY]


def parse_filters(args) -> tuple[Filters, dict[str, str]]:
    """Filters from a query string, plus a Russian message per parameter that was ignored."""
    filters, errors = Filters(), {}
    list_params.read_ids_and_limit(args, filters, errors)
    filters.employee = _text(args.get("employee"))
    filters.caller = _text(args.get("caller"))
    status = _text(args.get("status"))
    if status in reasons.EVENT_STATUSES:
        filters.status = status
    elif status:
        errors["status"] = "Допустимые значения: " + ", ".join(reasons.EVENT_STATUSES)
    return filters, errors


# --- conditions ---------------------------------------------------------------


def _has_delivery(*statuses: str):
    return exists().where(Delivery.event_id == Event.id, Delivery.status.in_(statuses))


def status_condition(status: str):
    """SQL for events whose ``reasons.event_status`` is ``status`` (same precedence)."""
    processed = Event.processed_at.is_not(None)
    sending = _has_delivery(*reasons.STILL_SENDING)
    failed = _has_delivery(reasons.FAILED)
    sent = _has_delivery(reasons.SENT)
    skipped = _has_delivery(reasons.SKIPPED)
    return {
        reasons.PROCESSING: Event.processed_at.is_(None),
        reasons.SENDING: and_(processed, sending),
        reasons.DELIVERY_FAILED: and_(processed, not_(sending), failed),
        reasons.NOTIFIED: and_(processed, not_(sending), not_(failed), sent),
        reasons.ONLY_SKIPPED: and_(processed, not_(sending), not_(failed), not_(sent), skipped),
        reasons.NOT_NOTIFIED: and_(processed, not_(sending), not_(failed), not_(sent), not_(skipped)),
    }[status]


def _employee_condition(subscribers_where):
    """Events for these subscribers: rung at their number, or decided for them."""
    keys = select(Subscriber.number_key).where(subscribers_where).scalar_subquery()
    ids = select(Subscriber.id).where(subscribers_where).scalar_subquery()
    decided = exists().where(Decision.event_id == Event.id, Decision.subscriber_id.in_(ids))
    return or_(Event.callee_key.in_(keys), decided)


def _employee_text_condition(text: str):
    condition = _employee_condition(matching(text))
    key = _number_key(text)
    return or_(condition, Event.callee_key == key) if key else condition


def _number_key(text: str) -> str | None:
    try:
        return phones.normalize(text)
    except ValueError:  # phones.InvalidNumber
        return None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def caller_condition(text: str):
    """A caller typed any way: the full number in any notation, part of its digits,
    a word for a hidden number (``скрыт``), or part of a client's name."""
    if phones.is_hidden(text):
        return Event.caller_key.is_(None)
    conditions = []
    key = _number_key(text)
    if key:
        conditions.append(Event.caller_key == key)
    digits = _NON_DIGITS.sub("", text)
    if digits:
        conditions.append(Event.caller_key.like(_like(digits), escape="\\"))
        if digits.startswith("8") and len(digits) > 1:  # 8 902... is +7 902... in Russia
            conditions.append(Event.caller_key.like(_like("7" + digits[1:]), escape="\\"))
    if any(ch.isalpha() for ch in text):
        named = (select(ContactNumber.number_key).join(Contact)
                 .where(func.lower(Contact.name).like(_like(text.lower()), escape="\\")).scalar_subquery())
        conditions.append(Event.caller_key.in_(named))
    return or_(*conditions) if conditions else Event.caller.like(_like(text), escape="\\")


def filtered(filters: Filters):
    """The SELECT of events matching the filters, newest first (without the page limit)."""
    stmt = select(Event).order_by(Event.id.desc())
    if filters.subscriber_id:
        stmt = stmt.where(_employee_condition(Subscriber.id == filters.subscriber_id))
    if filters.employee:
        stmt = stmt.where(_employee_text_condition(filters.employee))
    if filters.caller:
        stmt = stmt.where(caller_condition(filters.caller))
    if filters.status:
        stmt = stmt.where(status_condition(filters.status))
    if filters.before:
        stmt = stmt.where(Event.id < filters.before)
    return stmt


# --- what is shown ------------------------------------------------------------


@dataclass
class Person:
    """A subscriber as the log shows it: from the table if known, else the number stored."""

    id: int | None
    number: str
    name: str

    @property
    def display(self) -> str:
        """The number for people: an unknown subscriber's is stored in canonical form."""
        return phones.display(self.number)

    def to_json(self) -> dict:
        return {"id": self.id, "number": self.number, "name": self.name}


@dataclass
class DecisionView:
    subscriber: Person
    notify: bool
    reason: str
    reason_text: str

    def to_json(self) -> dict:
        return {"subscriber": self.subscriber.to_json(), "notified": self.notify,
                "reason": self.reason, "reason_text": self.reason_text}


@dataclass
class DeliveryView:
    row: Delivery
    subscriber: Person
    # A missed call's Telegram message (services.telegram_threads): ("sent" | "update", message_id)
    telegram: tuple[str, int | None] | None = None

    @property
    def telegram_text(self) -> str | None:
        """«обновлено сообщение 17»: a repeat call shown by editing the caller's message."""
        if self.telegram is None or self.telegram[1] is None or self.row.status != reasons.SENT:
            return None
        kind, message_id = self.telegram
        return f"обновлено сообщение {message_id}" if kind == "update" else f"сообщение {message_id}"

    @property
    def status_text(self) -> str:
        return reasons.delivery_status_text(self.row.status)

    @property
    def tone(self) -> str:
        return reasons.TONES.get(self.row.status, "")

    @property
    def channel_text(self) -> str:
        return reasons.channel_text(self.row.channel)

    @property
    def can_retry(self) -> bool:
        return self.row.status == reasons.FAILED

    @property
    def can_send(self) -> bool:
        """«Отправить»: skipped, a recent event, and the channel now works for the employee."""
        if self.row.status != reasons.SKIPPED:
            return False
        from notifier.models import utcnow
        from notifier.pipeline import delivery

        return delivery.sendable_now(self.row, utcnow())

    def to_json(self) -> dict:
        d = self.row
        return {
            "id": d.id, "subscriber": self.subscriber.to_json(), "channel": d.channel,
            "address": d.address, "status": d.status, "status_text": self.status_text,
            "attempts": d.attempts, "last_error": d.last_error,
            "next_attempt_at": _iso(d.next_attempt_at), "sent_at": _iso(d.sent_at),
            "created_at": _iso(d.created_at), "updated_at": _iso(d.updated_at),
            "telegram_message": ({"message_id": self.telegram[1], "updated": self.telegram[0] == "update"}
                                 if self.telegram and self.telegram[1] is not None else None),
        }


@dataclass
class Entry:
    """One event of the log with everything the page and the API show about it."""

    event: Event
    callee: Person | None  # the subscriber whose number rang; None if no such subscriber
    caller_number: str | None  # formatted; None for a hidden number
    client_name: str | None
    client_vip: bool
    decisions: list[DecisionView] = field(default_factory=list)
    deliveries: list[DeliveryView] = field(default_factory=list)

    @property
    def status(self) -> str:
        return reasons.event_status(self.event.processed_at is not None,
                                    [d.row.status for d in self.deliveries])

    @property
    def status_text(self) -> str:
        return reasons.event_status_text(self.status)

    @property
    def tone(self) -> str:
        return reasons.EVENT_TONES.get(self.status, "")

    @property
    def pending(self) -> bool:
        return reasons.is_pending(self.status)

    @property
    def outgoing(self) -> bool:
        """An employee's call out (``from`` the employee, ``to`` an outside number)."""
        return self._payload("direction") == "outgoing"

    @property
    def type_text(self) -> str:
        return reasons.OUTGOING_CALL if self.outgoing else reasons.event_type_text(self.event.type)

    @property
    def result_text(self) -> str:
        return reasons.result_text(self.event.type, self.event.result)

    @property
    def callee_number(self) -> str:
        return phones.display(self.event.callee_key)

    def _payload(self, key: str):
        payload = self.event.payload
        return payload.get(key) if isinstance(payload, dict) else None

    @property
    def line(self) -> str | None:
        """The multi-channel number an external caller dialled, as the PBX sent it."""
        value = self._payload("line")
        return value if isinstance(value, str) and value else None

    @property
    def duration_seconds(self) -> int | None:
        """A voicemail's length."""
        value = self._payload("duration_seconds")
        return value if type(value) is int else None

    @property
    def payload_text(self) -> str:
        """The stored body as received, indented; escaped by the template like any
        text. Invisible format characters (a bidi override, a zero-width space)
        are shown as their JSON escapes: the admin sees them instead of obeying them."""
        return escape_format(json.dumps(self.event.payload, ensure_ascii=False, indent=2))

    @property
    def source_title(self) -> str | None:
        """The PBX adapter that translated the event, by its vendor's name; None for the JSON webhook."""
        source = self.event.source
        if not source:
            return None
        vendor = registry.get(source)
        return vendor.title if vendor else source

    @property
    def raw_text(self) -> str | None:
        """The vendor's request as received, indented (escaped by the template)."""
        if self.event.raw is None:
            return None
        return json.dumps(self.event.raw, ensure_ascii=False, indent=2)

    def to_json(self, payload: bool = False) -> dict:
        ev = self.event
        data = {
            "id": ev.event_id, "pk": ev.id, "type": ev.type, "call_id": ev.call_id,
            "started_at": _iso(ev.started_at), "received_at": _iso(ev.received_at),
            "processed_at": _iso(ev.processed_at),
            "caller": {"raw": ev.caller, "number": ev.caller_key, "display": self.caller_number,
                       "hidden": ev.caller_key is None, "client": self.client_name, "vip": self.client_vip},
            "callee": {"number": ev.callee_key, "display": self.callee_number,
                       "subscriber": self.callee.to_json() if self.callee else None},
            "result": ev.result, "result_text": self.result_text,
            "status": self.status, "status_text": self.status_text,
            "decisions": [d.to_json() for d in self.decisions],
            "deliveries": [d.to_json() for d in self.deliveries],
        }
        if payload:
            data["payload"] = ev.payload
            data["source"] = ev.source
            data["raw"] = ev.raw
        return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _entries(events: list[Event]) -> list[Entry]:
    """Entries for loaded events, with their subscribers and clients looked up in two queries."""
    numbers = {ev.callee_key for ev in events}
    ids = {row.subscriber_id for ev in events for row in (*ev.decisions, *ev.deliveries) if row.subscriber_id}
    subscribers = list(db.session.scalars(select(Subscriber).where(
        or_(Subscriber.number_key.in_(numbers), Subscriber.id.in_(ids))))) if events else []
    by_key = {s.number_key: s for s in subscribers}
    by_id = {s.id: s for s in subscribers}
    callers = {ev.caller_key for ev in events if ev.caller_key}
    clients = {n.number_key: n.contact for n in db.session.scalars(
        select(ContactNumber).options(selectinload(ContactNumber.contact))
        .where(ContactNumber.number_key.in_(callers)))} if callers else {}

    messages = telegram_threads.messages_of([ev.id for ev in events])

    def person(subscriber_id: int | None, number: str) -> Person:
        s = by_id.get(subscriber_id) if subscriber_id else None
        if s is None:
            return Person(None, number, "")
        return Person(s.id, s.number, s.name)

    entries = []
    for ev in events:
        callee = by_key.get(ev.callee_key)
        client = clients.get(ev.caller_key) if ev.caller_key else None
        entries.append(Entry(
            event=ev,
            callee=Person(callee.id, callee.number, callee.name) if callee else None,
            caller_number=phones.display(ev.caller_key) if ev.caller_key else None,
            client_name=client.name if client else None,
            client_vip=bool(client and client.vip),
            decisions=[DecisionView(person(d.subscriber_id, d.subscriber_number), d.notify, d.reason,
                                    reasons.reason_text(d.reason, ev.result))
                       for d in sorted(ev.decisions, key=lambda d: d.id)],
            deliveries=[DeliveryView(d, person(d.subscriber_id, d.subscriber_number),
                                     messages.get((ev.id, d.subscriber_id)) if d.channel == "telegram" else None)
                        for d in ev.deliveries],
        ))
    return entries


_LOAD = (selectinload(Event.decisions), selectinload(Event.deliveries))


@dataclass
class Page:
    entries: list[Entry]
    filters: Filters
    next_before: int | None  # pass as ``before`` for the next (older) page

    @property
    def pending(self) -> bool:
        return any(entry.pending for entry in self.entries)


def recent(filters: Filters) -> Page:
    """One page of the log, newest first."""
    events = list(db.session.scalars(filtered(filters).options(*_LOAD).limit(filters.limit + 1)))
    more = len(events) > filters.limit
    events = events[:filters.limit]
    return Page(_entries(events), filters, events[-1].id if more else None)


def by_event_id(event_id: str) -> Entry | None:
    """The event with this PBX id (the contract's id)."""
    if not event_id or len(event_id) > 128 or "\x00" in event_id:
        return None
    event = db.session.scalar(select(Event).options(*_LOAD).where(Event.event_id == event_id))
    return _entries([event])[0] if event else None


def by_pk(pk: int) -> Entry | None:
    """The event with this row id (the page's links)."""
    if not 1 <= pk <= MAX_ID:
        return None
    event = db.session.scalar(select(Event).options(*_LOAD).where(Event.id == pk))
    return _entries([event])[0] if event else None


def last_received_at() -> datetime | None:
    """When the newest event came through the JSON webhook (its card in «Настройки»;
    the PBX adapters keep their own counters)."""
    return db.session.scalar(select(func.max(Event.received_at)).where(Event.source.is_(None)))


def any_event() -> bool:
    """Whether anything was received at all (the page's empty state)."""
    return db.session.scalar(select(Event.id).limit(1)) is not None
