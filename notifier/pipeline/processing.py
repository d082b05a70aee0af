"""Turning a stored call event into decisions and deliveries, and sending
them (the RQ job ``process_event(event_pk)``), events.md "Who is notified".

The judgement itself is ``core.decide.decide`` (pure); this module only
gathers its inputs with a bounded number of queries, whatever the size of the
rule book: the subscriber by ``Event.callee_key``, that subscriber's rules
(indexed by subscriber_id), and, for a missed call from a visible number, one
look-up of the caller's number among the VIP contacts (VIP rules and the
missed-call record both use it).

Idempotent: ``processed_at`` is set in the same commit as the decision, the
deliveries and the missed-call record (``services.missed_calls.track``), and
the unique constraints on them make a concurrent second run fail as a whole
(it then does nothing). A re-run never creates anything twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from notifier.channels.notification import build
from notifier.core import decide as core_decide
from notifier.core.criteria import parse_criteria
from notifier.core.events import CallEvent, parse_event
from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Contact, ContactNumber, Decision, Delivery, Event, Rule, Subscriber, utcnow
from notifier.pipeline import delivery
from notifier.services import missed_calls, settings

log = logging.getLogger(__name__)

CHANNELS = ("email", "telegram")


def _rules(subscriber: Subscriber):
    """The subscriber's rules as Criteria, in a stable order (decide reports the first failure)."""
    rows = db.session.execute(
        select(Rule.id, Rule.criteria).where(Rule.subscriber_id == subscriber.id).order_by(Rule.id)
    ).all()
    rules = []
    for rule_id, raw in rows:
        try:
            rules.append(parse_criteria(raw))
        except FieldErrors as err:  # stored rules are validated; never let one bad row stop the rest
            log.error("rule %s has invalid criteria, ignored: %s", rule_id, err)
    return rules


def _is_vip(number_key: str) -> bool:
    return db.session.scalar(
        select(ContactNumber.id).join(Contact)
        .where(ContactNumber.number_key == number_key, Contact.vip.is_(True)).limit(1)
    ) is not None


def _address(subscriber: Subscriber, channel: str) -> str:
    """What the log shows as the address; the delivery job reads the subscriber again."""
    if channel == "email":
        return subscriber.email or ""
    if subscriber.telegram_chat_id is not None:
        return subscriber.telegram or str(subscriber.telegram_chat_id)
    return ""


def considered_number(call: CallEvent, event: Event) -> str:
    """Whose decision the log shows: the subscriber in ``to``; for an outgoing
    call the employee who made it (``from``), since ``to`` is an outside number."""
    if call.direction == "outgoing" and call.caller:
        return call.caller
    return event.callee_key


@dataclass(frozen=True)
class Judgement:
    """What processing learnt about an event: the call, the subscriber considered
    (or None) and their number, the decision, and whether the caller is VIP."""

    call: CallEvent
    subscriber: Subscriber | None
    number: str
    decision: core_decide.Decision
    vip: bool


def judge(event: Event) -> Judgement:
    """The decision for the subscriber considered. The caller's VIP mark is looked
    up once, for a missed call only: its callback record keeps it (services.missed_calls)."""
    call = parse_event(event.payload)
    number = considered_number(call, event)
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.number_key == number))
    kind, _ = core_decide.event_kind(call)
    rules = None
    if subscriber is not None:  # an event that notifies nobody needs none of its rules
        rules = _rules(subscriber) if kind is not None else []
    vip = kind == core_decide.MISSED_CALL and call.caller is not None and _is_vip(call.caller)
    decision = core_decide.decide(call, rules, settings.schedule(), {call.caller} if vip else set())
    return Judgement(call, subscriber, number, decision, vip)


def process_event(event_pk: int) -> str:
    """RQ job: store the decision for the event's subscriber, create its deliveries and send them."""
    event = db.session.get(Event, event_pk)
    if event is None:
        return "missing"
    if event.processed_at is not None:
        return "already processed"
    judged = judge(event)
    subscriber, decision, number = judged.subscriber, judged.decision, judged.number
    db.session.add(Decision(
        event_id=event.id, subscriber_id=subscriber.id if subscriber else None,
        subscriber_number=number, notify=decision.notify, reason=decision.reason,
    ))
    deliveries = []
    lease = utcnow() + delivery.LEASE
    if decision.notify and subscriber is not None:
        # Created claimed by this job (the lease), which sends them right after the commit.
        deliveries = [
            Delivery(event_id=event.id, subscriber_id=subscriber.id, subscriber_number=event.callee_key,
                     channel=channel, address=_address(subscriber, channel), status="pending",
                     locked_until=lease)
            for channel in CHANNELS
        ]
        db.session.add_all(deliveries)
    event.processed_at = utcnow()
    try:
        called_back = missed_calls.track(event, judged.call, subscriber, judged.vip)  # same transaction
        db.session.flush()
        first = None
        if deliveries:
            first = delivery.FirstTry(
                note=build(event, subscriber, event.callee_key), subscriber=subscriber, event_id=event.event_id,
                deliveries=[(d.id, d.channel) for d in deliveries], lease=lease)
            db.session.expunge(subscriber)  # read by the send threads; the commit must not expire it
        db.session.commit()
    except IntegrityError:  # another run got there first
        db.session.rollback()
        return "already processed"
    # A crash from here on leaves them pending under a lease; the sweep sends them
    # (at once when RQ reports this job abandoned, else when the lease ends).
    if first is not None:
        delivery.send_now(first)
    missed_calls.changed(called_back)
    return decision.reason
