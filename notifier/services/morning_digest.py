"""Which employees get a morning digest today, and claiming it (issue 16, part 4).

``claim_due(now, done)`` is one round of the worker's digest loop: when
``core.digest.due`` says today's digest is due, every employee with a rule
that opts in («Утренняя сводка») and with open missed calls from the window
gets a ``MorningDigest`` row and one ``DigestSend`` per channel, inserted in
one transaction per employee. The row is unique per (employee, day): a second
worker, a restarted one or a second round finds it there and sends nothing.

Calls still being processed would be missed, so a round waits while events of
the window are unprocessed, at most until BACKLOG_WAIT after the window.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from notifier.core import digest as core_digest
from notifier.core.criteria import parse_criteria
from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import DigestSend, Event, MissedCall, MorningDigest, Rule
from notifier.services import settings

log = logging.getLogger(__name__)

CHANNELS = ("email", "telegram")
MAX_LISTED = 100  # calls named in one digest; the count says how many there were
BACKLOG_WAIT = timedelta(minutes=30)


@dataclass(frozen=True)
class Round:
    done: date | None  # the day whose round is complete (give it back next time)
    send_ids: list[int]  # new sends to queue


def opted_in() -> list[int]:
    """Employees with a missed-calls rule asking for the digest (the JSON key is there only when true)."""
    rows = db.session.execute(select(Rule.id, Rule.subscriber_id, Rule.criteria)).all()
    found = set()
    for rule_id, subscriber_id, raw in rows:
        if not (isinstance(raw, dict) and raw.get("morning_digest") is True) or subscriber_id in found:
            continue
        try:
            if parse_criteria(raw).morning_digest:
                found.add(subscriber_id)
        except FieldErrors:
            log.error("rule %s has invalid criteria, ignored for the digest", rule_id)
    return sorted(found)


def _backlog(window: core_digest.Window) -> bool:
    """Events of the window not yet processed (their missed calls are not recorded yet)."""
    query = select(Event.id).where(Event.processed_at.is_(None), Event.started_at < window.end)
    if window.start is not None:
        query = query.where(Event.started_at >= window.start)
    return db.session.scalar(query.limit(1)) is not None


def open_calls(subscriber_ids: list[int], window: core_digest.Window) -> dict[int, list[int]]:
    """Open missed calls of the window per employee, newest first (ids)."""
    if not subscriber_ids:
        return {}
    query = (select(MissedCall.subscriber_id, MissedCall.id)
             .where(MissedCall.subscriber_id.in_(subscriber_ids), MissedCall.status == "open",
                    MissedCall.missed_at < window.end)
             .order_by(MissedCall.missed_at.desc(), MissedCall.id.desc()))
    if window.start is not None:
        query = query.where(MissedCall.missed_at >= window.start)
    calls: dict[int, list[int]] = {}
    for subscriber_id, call_id in db.session.execute(query):
        calls.setdefault(subscriber_id, []).append(call_id)
    return calls


def claim(subscriber_id: int, window: core_digest.Window, call_ids: list[int]) -> list[int]:
    """Insert the day's digest and its sends; their ids, or [] when it exists already."""
    digest = MorningDigest(subscriber_id=subscriber_id, day=window.day, window_start=window.start,
                           window_end=window.end, missed_call_ids=call_ids[:MAX_LISTED], total=len(call_ids))
    digest.sends = [DigestSend(channel=channel, status="pending") for channel in CHANNELS]
    db.session.add(digest)
    try:
        db.session.flush()
        ids = [send.id for send in digest.sends]
        db.session.commit()
    except IntegrityError:  # claimed by another worker (or an earlier round)
        db.session.rollback()
        return []
    return ids


def claim_due(now: datetime, done: date | None = None) -> Round:
    """One round at ``now``; see the module docstring."""
    window = core_digest.due(settings.schedule(), now, done)
    if window is None:
        return Round(done, [])
    if _backlog(window) and now < window.end + BACKLOG_WAIT:
        log.info("morning digest of %s waits for events still being processed", window.day)
        return Round(done, [])
    calls = open_calls(opted_in(), window)
    claimed = db.session.scalars(
        select(MorningDigest.subscriber_id)
        .where(MorningDigest.day == window.day, MorningDigest.subscriber_id.in_(list(calls)))).all() if calls else []
    send_ids: list[int] = []
    for subscriber_id, call_ids in calls.items():
        if subscriber_id not in claimed:
            send_ids += claim(subscriber_id, window, call_ids)
    if send_ids:
        log.info("morning digest of %s: %d send(s)", window.day, len(send_ids))
    return Round(window.day, send_ids)
