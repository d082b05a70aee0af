"""Who is notified (events.md rules 1-7), as one big table plus period edge cases."""

from datetime import date, datetime

import pytest

from notifier.core import workhours
from notifier.core.criteria import Period, parse_criteria
from notifier.core.decide import NOT_MISSED_TEXTS, REASONS, Decision, decide, event_kind, period_matches
from notifier.core.events import parse_event

SCHEDULE = workhours.Schedule.default("Europe/Moscow")  # Mon-Fri 09-18, RU holidays
VIP = frozenset({"+79023855270"})

# Wednesday 25 Nov 2026, 12:00 Moscow: working time.
CALL = {"id": "e1", "type": "call.ended", "started_at": "2026-11-25T12:00:00+03:00",
        "direction": "internal", "from": "101", "to": "102", "result": "no_answer"}
EXTERNAL = {**CALL, "direction": "external", "routing": "direct", "from": "+7 902 385-52-70"}
OUTGOING = {**CALL, "direction": "outgoing", "from": "102", "to": "+7 902 385-52-70"}
VOICEMAIL = {"id": "v1", "type": "voicemail.received", "started_at": "2026-11-25T12:00:00+03:00",
             "from": "89023855270", "to": "102"}


def rule(types=("missed_calls",), time=None, callers=None):
    body = {"types": list(types)}
    if time is not None:
        body["time"] = time if isinstance(time, dict) else {"mode": time}
    if callers is not None:
        body["callers"] = callers if isinstance(callers, dict) else {"mode": callers}
    return parse_criteria(body)


def listed(*numbers):
    return {"mode": "listed", "numbers": list(numbers)}


def period(**p):
    return {"mode": "period", "period": p}


ALL = rule()
VM = rule(["voicemail"])
WORK = rule(time="work_hours")
OFF = rule(time="off_hours")
SAT_NIGHT = rule(time=period(weekdays=["sat"], **{"from": "22:00", "to": "06:00"}))
WEEKEND = rule(time=period(weekdays=["sat", "sun"]))
HOLIDAYS = rule(time=period(start_date="2026-12-30", end_date="2027-01-08"))


def at(moment, base=CALL, **changes):
    return {**base, "started_at": moment, **changes}


CASES = [
    # --- rule 1: only no_answer, internal or external+direct
    ("no_answer internal", CALL, [ALL], "notify"),
    ("no_answer external direct", EXTERNAL, [ALL], "notify"),
    ("no_answer external group", {**EXTERNAL, "routing": "group"}, [ALL], "not_direct"),
    ("caller_hangup", {**CALL, "result": "caller_hangup"}, [ALL], "caller_hangup"),
    ("caller_hangup external group", {**EXTERNAL, "routing": "group", "result": "caller_hangup"}, [ALL],
     "caller_hangup"),
    ("answered", {**CALL, "result": "answered"}, [ALL], "not_missed"),
    ("answered_elsewhere", {**EXTERNAL, "result": "answered_elsewhere"}, [ALL], "not_missed"),
    ("busy", {**CALL, "result": "busy"}, [ALL], "not_missed"),
    ("rejected", {**CALL, "result": "rejected"}, [ALL], "not_missed"),
    ("unavailable", {**CALL, "result": "unavailable"}, [ALL], "not_missed"),
    ("failed", {**CALL, "result": "failed"}, [ALL], "not_missed"),
    ("not missed beats unknown subscriber", {**CALL, "result": "busy"}, None, "not_missed"),
    # --- outgoing (events.md): from the employee to an outside number, notifies nobody
    ("outgoing no_answer", OUTGOING, [ALL], "outgoing"),
    ("outgoing answered", {**OUTGOING, "result": "answered"}, [ALL], "outgoing"),
    ("outgoing caller_hangup", {**OUTGOING, "result": "caller_hangup"}, [ALL], "outgoing"),
    ("outgoing to an unknown number", OUTGOING, None, "outgoing"),
    ("outgoing with routing direct", {**OUTGOING, "routing": "direct"}, [ALL], "outgoing"),
    # --- rule 2/4: voicemail always, time and callers never filter it
    ("voicemail", VOICEMAIL, [VM], "notify"),
    ("voicemail, both-types rule off hours with listed numbers",
     at("2026-11-28T03:00:00+03:00", VOICEMAIL, **{"from": ""}),
     [rule(["voicemail", "missed_calls"], "work_hours", listed("555"))], "notify"),
    ("voicemail, rule for missed only", VOICEMAIL, [ALL, WORK], "type_not_selected"),
    ("missed, rule for voicemail only", CALL, [VM], "type_not_selected"),
    # --- rule 3: subscriber
    ("unknown subscriber", CALL, None, "unknown_subscriber"),
    ("unknown subscriber voicemail", VOICEMAIL, None, "unknown_subscriber"),
    ("no rules", CALL, [], "no_rule"),
    ("no rules voicemail", VOICEMAIL, [], "no_rule"),
    # --- rule 5: working hours at 17:59 / 18:00 Moscow, started_at given in UTC
    ("work_hours 17:59 MSK", at("2026-11-25T14:59:00Z"), [WORK], "notify"),
    ("work_hours 18:00 MSK", at("2026-11-25T15:00:00Z"), [WORK], "outside_work_hours"),
    ("work_hours 09:00 MSK from +05:00", at("2026-11-25T11:00:00+05:00"), [WORK], "notify"),
    ("work_hours 08:59 MSK from -02:00", at("2026-11-25T03:59:59-02:00"), [WORK], "outside_work_hours"),
    ("off_hours 17:59 MSK", at("2026-11-25T14:59:00Z"), [OFF], "inside_work_hours"),
    ("off_hours 18:00 MSK", at("2026-11-25T15:00:00Z"), [OFF], "notify"),
    ("work_hours Saturday", at("2026-11-28T12:00:00+03:00"), [WORK], "outside_work_hours"),
    ("work_hours holiday Mon 5 Jan", at("2026-01-05T12:00:00+03:00"), [WORK], "outside_work_hours"),
    ("off_hours holiday Mon 5 Jan", at("2026-01-05T12:00:00+03:00"), [OFF], "notify"),
    ("off_hours Mon 12 Jan", at("2026-01-12T12:00:00+03:00"), [OFF], "inside_work_hours"),
    # --- period: weekdays, across midnight, inclusive dates
    ("weekend on Saturday", at("2026-11-28T12:00:00+03:00"), [WEEKEND], "notify"),
    ("weekend on Wednesday", CALL, [WEEKEND], "outside_period"),
    ("weekend: Sun 23:59 MSK given as UTC", at("2026-11-29T20:59:00Z"), [WEEKEND], "notify"),
    ("weekend: Mon 00:00 MSK given as UTC", at("2026-11-29T21:00:00Z"), [WEEKEND], "outside_period"),
    ("Sat night: Sat 23:30", at("2026-11-28T23:30:00+03:00"), [SAT_NIGHT], "notify"),
    ("Sat night: Sun 01:00", at("2026-11-29T01:00:00+03:00"), [SAT_NIGHT], "notify"),
    ("Sat night: Sun 05:59", at("2026-11-29T05:59:59+03:00"), [SAT_NIGHT], "notify"),
    ("Sat night: Sun 06:00", at("2026-11-29T06:00:00+03:00"), [SAT_NIGHT], "outside_period"),
    ("Sat night: Sat 21:59", at("2026-11-28T21:59:00+03:00"), [SAT_NIGHT], "outside_period"),
    ("Sat night: Sat 01:00 (Friday's night)", at("2026-11-28T01:00:00+03:00"), [SAT_NIGHT],
     "outside_period"),
    ("Sat night: Sun 23:30", at("2026-11-29T23:30:00+03:00"), [SAT_NIGHT], "outside_period"),
    ("dates: day before start", at("2026-12-29T23:59:00+03:00"), [HOLIDAYS], "outside_period"),
    ("dates: start date 00:00", at("2026-12-30T00:00:00+03:00"), [HOLIDAYS], "notify"),
    ("dates: end date 23:59", at("2027-01-08T23:59:59+03:00"), [HOLIDAYS], "notify"),
    ("dates: day after end", at("2027-01-09T00:00:00+03:00"), [HOLIDAYS], "outside_period"),
    ("dates: end date in UTC, next day in Moscow", at("2027-01-08T21:00:00Z"), [HOLIDAYS],
     "outside_period"),
    # --- rule 6: callers
    ("listed, other notation", EXTERNAL, [rule(callers=listed("89023855270"))], "notify"),
    ("listed, 7-prefix notation", {**EXTERNAL, "from": "8 (902) 385 52 70"},
     [rule(callers=listed("79023855270"))], "notify"),
    ("listed extension", CALL, [rule(callers=listed("+7 495 000-00-00", "101"))], "notify"),
    ("not listed", EXTERNAL, [rule(callers=listed("89023855271", "101"))], "number_not_listed"),
    ("vip", {**EXTERNAL, "from": "79023855270"}, [rule(callers="vip")], "notify"),
    ("not vip", CALL, [rule(callers="vip")], "not_vip"),
    ("hidden caller, all numbers", {**EXTERNAL, "from": ""}, [ALL], "notify"),
    ("hidden caller, listed", {**EXTERNAL, "from": "anonymous"}, [rule(callers=listed("101"))],
     "hidden_number"),
    ("hidden caller, vip", {**EXTERNAL, "from": ""}, [rule(callers="vip")], "hidden_number"),
    # --- several rules: any passing one notifies; else first failure of the first selecting rule
    ("one of several rules matches", at("2026-11-28T12:00:00+03:00"),
     [VM, WORK, rule(callers="vip"), WEEKEND], "notify"),
    ("none matches: first selecting rule's reason", at("2026-11-28T12:00:00+03:00"),
     [VM, WORK, rule(callers="vip")], "outside_work_hours"),
    ("time judged before callers", at("2026-11-28T12:00:00+03:00"),
     [rule(time="work_hours", callers="vip")], "outside_work_hours"),
    ("time passes, callers fail", CALL, [rule(time="work_hours", callers="vip")], "not_vip"),
    ("both criteria pass", {**EXTERNAL, "from": "89023855270"},
     [rule(time="work_hours", callers="vip")], "notify"),
    ("duplicates still one decision", CALL, [ALL, ALL, WORK], "notify"),
]


@pytest.mark.parametrize("body, rules, reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decide(body, rules, reason):
    decision = decide(parse_event(body), rules, SCHEDULE, VIP)
    assert decision.reason == reason
    assert decision.notify is (reason == "notify")
    assert decision.text


@pytest.mark.parametrize("result, text", sorted(NOT_MISSED_TEXTS.items()))
def test_not_missed_text_names_the_result(result, text):
    assert decide(parse_event({**CALL, "result": result}), [ALL], SCHEDULE, VIP) == Decision(
        False, "not_missed", text)


def test_every_reason_has_a_russian_text():
    assert set(REASONS) == {
        "notify", "outgoing", "caller_hangup", "not_missed", "not_direct", "unknown_subscriber", "no_rule",
        "type_not_selected", "outside_work_hours", "inside_work_hours", "outside_period",
        "hidden_number", "number_not_listed", "not_vip"}
    assert all(any("а" <= ch <= "я" for ch in text.lower()) for text in REASONS.values())


@pytest.mark.parametrize("body, kind", [
    (CALL, ("missed_call", "notify")),
    (EXTERNAL, ("missed_call", "notify")),
    (VOICEMAIL, ("voicemail", "notify")),
    ({**EXTERNAL, "routing": "group"}, (None, "not_direct")),
    ({**CALL, "result": "caller_hangup"}, (None, "caller_hangup")),
    ({**CALL, "result": "answered"}, (None, "not_missed")),
    (OUTGOING, (None, "outgoing")),
    ({**OUTGOING, "result": "answered"}, (None, "outgoing")),
])
def test_event_kind(body, kind):
    assert event_kind(parse_event(body)) == kind


def test_decision_carries_kind():
    assert decide(parse_event(VOICEMAIL), [VM], SCHEDULE, VIP).kind == "voicemail"
    assert decide(parse_event(CALL), [ALL], SCHEDULE, VIP).kind == "missed_call"


def test_other_time_zone():
    """18:30 in Moscow is 10:30 in New York, within a New York schedule's hours."""
    event = parse_event(at("2026-11-25T18:30:00+03:00"))
    assert decide(event, [WORK], SCHEDULE, VIP).reason == "outside_work_hours"
    assert decide(event, [WORK], workhours.Schedule.default("America/New_York"), VIP).notify
    sat_night_ny = parse_event(at("2026-11-29T07:00:00+03:00"))  # Sat 23:00 in New York
    assert decide(sat_night_ny, [SAT_NIGHT], workhours.Schedule.default("America/New_York"), VIP).notify
    assert not decide(sat_night_ny, [SAT_NIGHT], SCHEDULE, VIP).notify


P = Period(weekdays=("fri",), from_minute=22 * 60, to_minute=6 * 60, end_date=date(2027, 1, 8))


@pytest.mark.parametrize("local, expected", [
    (datetime(2027, 1, 8, 22, 0), True),     # Friday 8 Jan, the end date
    (datetime(2027, 1, 9, 5, 59), True),     # after midnight: still Friday's period
    (datetime(2027, 1, 9, 6, 0), False),
    (datetime(2027, 1, 15, 23, 0), False),   # next Friday: past end_date
    (datetime(2027, 1, 8, 5, 0), False),     # Thursday's night
])
def test_period_matches_overnight_belongs_to_start_day(local, expected):
    assert period_matches(P, local) is expected


@pytest.mark.parametrize("p, local, expected", [
    (Period(from_minute=600, to_minute=1080), datetime(2026, 11, 25, 10, 0), True),
    (Period(from_minute=600, to_minute=1080), datetime(2026, 11, 25, 17, 59, 59), True),
    (Period(from_minute=600, to_minute=1080), datetime(2026, 11, 25, 18, 0), False),
    (Period(from_minute=600, to_minute=1080), datetime(2026, 11, 25, 9, 59, 59), False),
    (Period(from_minute=1080), datetime(2026, 11, 25, 23, 59, 59), True),  # to 24:00
    (Period(to_minute=60), datetime(2026, 11, 25, 0, 0), True),
    (Period(start_date=date(2026, 11, 25)), datetime(2026, 11, 25, 0, 0), True),
    (Period(start_date=date(2026, 11, 26)), datetime(2026, 11, 25, 23, 59), False),
    (Period(weekdays=("wed",)), datetime(2026, 11, 25, 12, 0), True),
    (Period(weekdays=("thu",)), datetime(2026, 11, 25, 12, 0), False),
])
def test_period_matches(p, local, expected):
    assert period_matches(p, local) is expected


def test_weekday_names_agree_with_workhours():
    from notifier.core import criteria
    assert criteria.WEEKDAYS == workhours.WEEKDAYS
