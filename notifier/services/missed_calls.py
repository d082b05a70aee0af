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
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import or_, select

from notifier.core import callbacks as cb
from notifier.core.events import CALL_ENDED, CallEvent, parse_event
from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Event, MissedCall, Subscriber

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
    """The earliest stored answered call that calls ``row`` back (with its event's pk)."""
    candidates = db.session.execute(
        select(Event.id, Event.payload).where(
            Event.type == CALL_ENDED, Event.result == "answered", Event.started_at > row.missed_at,
            or_(Event.callee_key == row.caller_key, Event.caller_key == row.caller_key),
        )
    ).all()
    found: dict[cb.Resolution, int] = {}
    for pk, payload in candidates:
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
