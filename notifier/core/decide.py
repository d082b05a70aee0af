"""Who is notified: events.md "Who is notified", rules 1-7, for one subscriber.

The caller passes the rules of the subscriber whose number is the event's
``to`` only (rule 3), so other subscribers' rules can never matter. Each
outcome carries a reason code for the event log. Order of judgement:

1. the event itself (rule 1/2): an outgoing call, caller hung up, not a missed
   call, not direct;
2. the subscriber: unknown ``to``, then no rules at all;
3. the type: no rule selects voicemail / missed calls;
4. the rules selecting the type: voicemail always notifies (rule 4); a missed
   call notifies if any of them passes time *and* callers. If none does, the
   reason is the first failing criterion (time before callers) of the first
   rule that selects the type, in the order given (the caller should pass
   rules in a stable order, e.g. by id).

Time is judged at ``started_at`` in the schedule's time zone (rule 5).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from notifier.core import workhours
from notifier.core.criteria import WEEKDAYS, Criteria, Period
from notifier.core.events import CALL_ENDED, VOICEMAIL_RECEIVED, CallEvent

MISSED_CALL = "missed_call"
VOICEMAIL = "voicemail"
_RULE_TYPE = {MISSED_CALL: "missed_calls", VOICEMAIL: "voicemail"}

NOTIFY = "notify"
OUTGOING = "outgoing"
CALLER_HANGUP = "caller_hangup"
NOT_MISSED = "not_missed"
NOT_DIRECT = "not_direct"
UNKNOWN_SUBSCRIBER = "unknown_subscriber"
NO_RULE = "no_rule"
TYPE_NOT_SELECTED = "type_not_selected"
OUTSIDE_WORK_HOURS = "outside_work_hours"
INSIDE_WORK_HOURS = "inside_work_hours"
OUTSIDE_PERIOD = "outside_period"
HIDDEN_NUMBER = "hidden_number"
NUMBER_NOT_LISTED = "number_not_listed"
NOT_VIP = "not_vip"

REASONS: dict[str, str] = {
    NOTIFY: "Уведомить",
    OUTGOING: "Исходящий звонок сотрудника: о нём не уведомляют",
    CALLER_HANGUP: "Звонящий положил трубку до окончания ожидания",
    NOT_MISSED: "Вызов не пропущен по истечении времени ожидания",
    NOT_DIRECT: "Вызов с многоканального номера не был переведён напрямую",
    UNKNOWN_SUBSCRIBER: "Номер не принадлежит абоненту АТС",
    NO_RULE: "У абонента нет правил уведомлений",
    TYPE_NOT_SELECTED: "Правила абонента не включают этот тип уведомлений",
    OUTSIDE_WORK_HOURS: "Вне рабочего времени",
    INSIDE_WORK_HOURS: "В рабочее время",
    OUTSIDE_PERIOD: "Вне заданного периода",
    HIDDEN_NUMBER: "Номер вызывающего абонента скрыт",
    NUMBER_NOT_LISTED: "Номер не указан в правиле",
    NOT_VIP: "Номер не входит в VIP-номера",
}

# More precise texts for NOT_MISSED, by the event's result.
NOT_MISSED_TEXTS: dict[str, str] = {
    "answered": "Вызов был принят",
    "answered_elsewhere": "Вызов принят на другом номере",
    "busy": "Абонент был занят",
    "rejected": "Абонент отклонил вызов",
    "unavailable": "Абонент был недоступен",
    "failed": "Вызов не состоялся из-за ошибки",
}


@dataclass(frozen=True)
class Decision:
    """Whether to notify the subscriber, why (code) and the Russian text for the log."""

    notify: bool
    reason: str
    text: str
    kind: str | None = None  # MISSED_CALL / VOICEMAIL when the event is one


def _decision(notify: bool, reason: str, kind: str | None = None, text: str | None = None) -> Decision:
    return Decision(notify, reason, text or REASONS[reason], kind)


def event_kind(event: CallEvent) -> tuple[str | None, str]:
    """(MISSED_CALL | VOICEMAIL, NOTIFY), or (None, reason) when the event notifies nobody."""
    if event.type == VOICEMAIL_RECEIVED:
        return VOICEMAIL, NOTIFY
    if event.type != CALL_ENDED:
        return None, NOT_MISSED
    if event.direction == "outgoing":  # whatever its result: nobody missed it
        return None, OUTGOING
    if event.result == "caller_hangup":
        return None, CALLER_HANGUP
    if event.result != "no_answer":
        return None, NOT_MISSED
    if event.direction == "internal":
        return MISSED_CALL, NOTIFY
    if event.direction == "external" and event.routing == "direct":
        return MISSED_CALL, NOTIFY
    return None, NOT_DIRECT


def period_matches(period: Period, local_dt: datetime) -> bool:
    """Whether wall-clock ``local_dt`` (already in the company time zone) is in the period.

    Hours are [from, to). An overnight period (22:00-06:00) belongs to the day it
    starts on: Sun 01:00 is judged as Saturday night, for the weekdays and the dates.
    """
    seconds = local_dt.hour * 3600 + local_dt.minute * 60 + local_dt.second
    start, end = period.from_minute * 60, period.to_minute * 60
    day = local_dt.date()
    if not period.overnight:
        if not start <= seconds < end:
            return False
    elif seconds >= start:
        pass  # the evening part, on the day it started
    elif seconds < end:
        day -= timedelta(days=1)  # the morning part belongs to yesterday's period
    else:
        return False
    if WEEKDAYS[day.weekday()] not in period.weekdays:
        return False
    if period.start_date and day < period.start_date:
        return False
    if period.end_date and day > period.end_date:
        return False
    return True


def _time_failure(rule: Criteria, event: CallEvent, schedule: "workhours.Schedule") -> str | None:
    if rule.time_mode == "work_hours":
        return None if workhours.is_working_time(schedule, event.started_at) else OUTSIDE_WORK_HOURS
    if rule.time_mode == "off_hours":
        return INSIDE_WORK_HOURS if workhours.is_working_time(schedule, event.started_at) else None
    if rule.time_mode == "period":
        if rule.period is None:
            return OUTSIDE_PERIOD
        local = event.started_at.astimezone(ZoneInfo(schedule.timezone))
        return None if period_matches(rule.period, local) else OUTSIDE_PERIOD
    return None


def _caller_failure(rule: Criteria, event: CallEvent, vip_numbers: Collection[str]) -> str | None:
    if rule.callers_mode == "all":
        return None
    if event.caller is None:
        return HIDDEN_NUMBER
    if rule.callers_mode == "listed":
        return None if event.caller in rule.numbers else NUMBER_NOT_LISTED
    if rule.callers_mode == "vip":
        return None if event.caller in vip_numbers else NOT_VIP
    return None


def decide(
    event: CallEvent,
    rules: Sequence[Criteria] | None,
    schedule: "workhours.Schedule",
    vip_numbers: Collection[str],
) -> Decision:
    """Decide for the subscriber whose number is ``event.callee``.

    ``rules`` are that subscriber's rules' criteria, or None when ``to`` is no
    known subscriber; ``vip_numbers`` are canonical numbers of VIP contacts.
    """
    kind, reason = event_kind(event)
    if kind is None:
        text = NOT_MISSED_TEXTS.get(event.result or "") if reason == NOT_MISSED else None
        return _decision(False, reason, text=text)
    if rules is None:
        return _decision(False, UNKNOWN_SUBSCRIBER, kind)
    if not rules:
        return _decision(False, NO_RULE, kind)
    selecting = [rule for rule in rules if _RULE_TYPE[kind] in rule.types]
    if not selecting:
        return _decision(False, TYPE_NOT_SELECTED, kind)
    if kind == VOICEMAIL:
        return _decision(True, NOTIFY, kind)
    if not isinstance(vip_numbers, (set, frozenset)):
        vip_numbers = frozenset(vip_numbers)
    first_failure = None
    for rule in selecting:
        failure = _time_failure(rule, event, schedule) or _caller_failure(rule, event, vip_numbers)
        if failure is None:
            return _decision(True, NOTIFY, kind)
        first_failure = first_failure or failure
    return _decision(False, first_failure, kind)
