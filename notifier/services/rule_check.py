"""«Проверить правило»: would the employees chosen in the rule dialog be notified?

The inputs are gathered the way processing gathers them for a real event (the
schedule from the settings, VIP from the contacts table, the employee's rules
in id order) and judged by ``core.decide.decide``; nothing is written.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from notifier.core import workhours
from notifier.core.criteria import Criteria, parse_criteria
from notifier.core.decide import decide
from notifier.core.fielderrors import FieldErrors
from notifier.core.reasons import reason_text
from notifier.core.rule_check import Probe, probe_event
from notifier.extensions import db
from notifier.models import Rule, Subscriber
from notifier.pipeline.processing import _is_vip as is_vip  # the one VIP look-up the worker uses
from notifier.services import settings

WEEKDAY_NAMES = ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")


@dataclass(frozen=True)
class Verdict:
    notify: bool
    reason: str  # the «Журнал»'s text


@dataclass(frozen=True)
class Row:
    subscriber: Subscriber
    alone: Verdict  # the rule in the dialog alone
    with_others: Verdict | None  # with the employee's other saved rules, when asked


@dataclass(frozen=True)
class Result:
    moment: str  # «пятница, 04.12.2026 10:00 (Europe/Moscow)»
    working: str  # «рабочее время» / «нерабочее время: Новый год»
    vip: bool
    rows: list[Row]


def check(probe: Probe, criteria: Criteria, subscribers: Sequence[Subscriber],
          edited_rule_ids: Collection[int] = (), with_others: bool = False) -> Result:
    """Judge ``criteria`` (the dialog's form, maybe unsaved) for each subscriber.

    ``edited_rule_ids`` are the saved rules the dialog changes: with the other
    rules, the form's criteria take their place (a new rule comes last)."""
    schedule = settings.schedule()
    vip = probe.caller is not None and is_vip(probe.caller)
    vip_numbers = {probe.caller} if vip else set()
    others = _rule_books(subscribers, criteria, set(edited_rule_ids)) if with_others else {}
    rows = []
    for subscriber in subscribers:
        event = probe_event(probe, subscriber.number_key)
        alone = _verdict(decide(event, [criteria], schedule, vip_numbers))
        combined = None
        if with_others:
            combined = _verdict(decide(event, others[subscriber.id], schedule, vip_numbers))
        rows.append(Row(subscriber, alone, combined))
    return Result(_moment(probe.at, schedule.timezone), _working(schedule, probe.at), vip, rows)


def _verdict(decision) -> Verdict:
    return Verdict(decision.notify, reason_text(decision.reason))


def _rule_books(subscribers: Sequence[Subscriber], criteria: Criteria, edited: set[int]) -> dict[int, list[Criteria]]:
    """Each subscriber's rules in id order with the dialog's criteria in place of the edited ones."""
    books: dict[int, list[Criteria]] = {s.id: [] for s in subscribers}
    replaced: set[int] = set()
    rows = db.session.execute(
        select(Rule.id, Rule.subscriber_id, Rule.criteria)
        .where(Rule.subscriber_id.in_(list(books))).order_by(Rule.id)
    ).all()
    for rule_id, subscriber_id, raw in rows:
        if rule_id in edited:
            books[subscriber_id].append(criteria)
            replaced.add(subscriber_id)
            continue
        try:
            books[subscriber_id].append(parse_criteria(raw))
        except FieldErrors:  # processing ignores such a rule too
            continue
    for subscriber_id, book in books.items():
        if subscriber_id not in replaced:
            book.append(criteria)
    return books


def _moment(at: datetime, zone: str) -> str:
    return f"{WEEKDAY_NAMES[at.weekday()]}, {at:%d.%m.%Y %H:%M} ({zone})"


def _working(schedule: workhours.Schedule, at: datetime) -> str:
    if workhours.is_working_time(schedule, at):
        return "рабочее время"
    reason = workhours.day_reason(schedule, at.date())
    return f"нерабочее время: {reason}" if reason else "нерабочее время"
