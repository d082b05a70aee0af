"""Callback state of missed calls: a table of event sequences and the states they leave."""
from datetime import date, datetime, timedelta, timezone

import pytest

from notifier.core import callbacks as cb
from notifier.core.events import parse_event

CLIENT = "+7 902 385-52-70"
KEY = "+79023855270"


def call(minute: int, direction="external", result="no_answer", frm=CLIENT, to="102", routing="direct", **more):
    body = {"id": f"e{minute}", "type": "call.ended", "started_at": f"2026-11-25T10:{minute:02d}:00+03:00",
            "direction": direction, "from": frm, "to": to, "result": result, **more}
    if direction == "external":
        body["routing"] = routing
    return parse_event(body)


def missed(minute, frm=CLIENT, to="102", direction="external", routing="direct"):
    return call(minute, direction, "no_answer", frm, to, routing)


def outgoing(minute, to=CLIENT, frm="103", result="answered"):
    return call(minute, "outgoing", result, frm, to)


def incoming(minute, frm=CLIENT, to="104", result="answered", routing="group"):
    return call(minute, "external", result, frm, to, routing)


def voicemail(minute, frm=CLIENT):
    return parse_event({"id": f"v{minute}", "type": "voicemail.received", "from": frm, "to": "102",
                        "started_at": f"2026-11-25T10:{minute:02d}:00+03:00"})


def t(minute):
    return datetime(2026, 11, 25, 7, minute, tzinfo=timezone.utc)


# (id, events in processing order, expected [(status, resolved minute, by, how)] per missed call)
CASES = [
    ("missed alone stays open", [missed(0)], [("open", None, None, None)]),
    ("outgoing answered calls back", [missed(0), outgoing(12)], [("called_back", 12, "103", "outgoing")]),
    ("caller's later incoming answered, by whoever answered",
     [missed(0), incoming(5, to="104")], [("called_back", 5, "104", "incoming")]),
    ("caller's later internal call answered", [missed(0, frm="105", direction="internal"),
                                               call(3, "internal", "answered", "105", "106")],
     [("called_back", 3, "106", "incoming")]),
    ("incoming answered via direct routing too", [missed(0), incoming(4, routing="direct", to="102")],
     [("called_back", 4, "102", "incoming")]),
    ("outgoing not answered leaves open", [missed(0), outgoing(5, result="no_answer")],
     [("open", None, None, None)]),
    ("outgoing busy leaves open", [missed(0), outgoing(5, result="busy")], [("open", None, None, None)]),
    ("incoming missed again opens a second row", [missed(0), missed(5)],
     [("open", None, None, None), ("open", None, None, None)]),
    ("one callback closes every open row of the number", [missed(0), missed(5), outgoing(9)],
     [("called_back", 9, "103", "outgoing"), ("called_back", 9, "103", "outgoing")]),
    ("a repeat after the callback stays open", [missed(0), outgoing(9), missed(15)],
     [("called_back", 9, "103", "outgoing"), ("open", None, None, None)]),
    ("earlier outgoing does not close", [outgoing(0), missed(5)], [("open", None, None, None)]),
    ("same minute is not later", [missed(5), outgoing(5)], [("open", None, None, None)]),
    ("callback processed first still closes a missed call that started before it",
     [outgoing(12), missed(0)], [("called_back", 12, "103", "outgoing")]),
    ("the earliest callback processed before wins", [outgoing(20, frm="107"), outgoing(12), missed(0)],
     [("called_back", 12, "103", "outgoing")]),
    ("later callback does not change a called-back row", [missed(0), outgoing(3), outgoing(8, frm="107")],
     [("called_back", 3, "103", "outgoing")]),
    ("numbers in different notations", [missed(0, frm="8 (902) 385 52 70"), outgoing(7, to="79023855270")],
     [("called_back", 7, "103", "outgoing")]),
    ("notation +7 vs 10 digits", [missed(0, frm="9023855270"), incoming(7, frm="+7 (902) 385-52-70")],
     [("called_back", 7, "104", "incoming")]),
    ("another number does not close", [missed(0), outgoing(7, to="+7 902 385-52-71")],
     [("open", None, None, None)]),
    ("hidden caller opens a row", [missed(0, frm="anonymous")], [("open", None, None, None)]),
    ("hidden caller is never called back by a hidden incoming",
     [missed(0, frm="anonymous"), incoming(5, frm="")], [("open", None, None, None)]),
    ("caller hung up opens nothing", [call(0, result="caller_hangup")], []),
    ("external via group opens nothing", [missed(0, routing="group")], []),
    ("busy opens nothing", [call(0, result="busy")], []),
    ("answered elsewhere neither opens nor closes", [missed(0), incoming(4, result="answered_elsewhere")],
     [("open", None, None, None)]),
    ("voicemail neither opens nor closes", [missed(0), voicemail(3)], [("open", None, None, None)]),
    ("outgoing no_answer opens nothing", [outgoing(0, result="no_answer")], []),
]


@pytest.mark.parametrize("events, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_transitions(events, expected):
    rows = cb.replay(events)
    got = [(r.status, None if r.resolved_at is None else r.resolved_at.minute, r.resolved_by, r.resolved_how)
           for r in rows]
    assert got == expected


def test_opened_row_carries_caller_key_and_time():
    (row,) = cb.replay([missed(3, frm="89023855270", to="102")])
    assert (row.caller_key, row.missed_at, row.callee) == (KEY, t(3), "102")
    (hidden,) = cb.replay([missed(3, frm="")])
    assert hidden.caller_key is None


CLOSE_CASES = [
    ("open -> closed", cb.MissedCall(KEY, t(0)), ("closed", "manual", "admin@example.com", t(30))),
    ("called back stays", cb.MissedCall(KEY, t(0), status="called_back", resolved_at=t(5), resolved_by="103",
                                        resolved_how="outgoing"), ("called_back", "outgoing", "103", t(5))),
    ("closed stays closed", cb.MissedCall(KEY, t(0), status="closed", resolved_at=t(9), resolved_by="x",
                                          resolved_how="manual"), ("closed", "manual", "x", t(9))),
    ("hidden caller can be closed", cb.MissedCall(None, t(0)), ("closed", "manual", "admin@example.com", t(30))),
]


@pytest.mark.parametrize("row, expected", [c[1:] for c in CLOSE_CASES], ids=[c[0] for c in CLOSE_CASES])
def test_closed_by_hand(row, expected):
    after = cb.closed_by_hand(row, "admin@example.com", t(30))
    assert (after.status, after.resolved_how, after.resolved_by, after.resolved_at) == expected


def test_a_closed_row_is_not_called_back_later():
    row = cb.closed_by_hand(cb.MissedCall(KEY, t(0)), "admin", t(1))
    res = cb.resolution(outgoing(9))
    assert not cb.resolves(row, res) and cb.called_back(row, res) is row


TIME_CASES = [
    ("12 minutes", t(0), t(12), "outgoing", timedelta(minutes=12)),
    ("incoming", t(0), t(3), "incoming", timedelta(minutes=3)),
    ("closed by hand has none", t(0), t(12), "manual", None),
    ("open has none", t(0), None, None, None),
]


@pytest.mark.parametrize("missed_at, resolved_at, how, expected", [c[1:] for c in TIME_CASES],
                         ids=[c[0] for c in TIME_CASES])
def test_time_to_callback(missed_at, resolved_at, how, expected):
    assert cb.time_to_callback(missed_at, resolved_at, how) == expected


RESOLUTION_CASES = [
    ("outgoing answered", outgoing(1, frm="103"), (KEY, "103", "outgoing")),
    ("incoming answered", incoming(1, to="104"), (KEY, "104", "incoming")),
    ("internal answered", call(1, "internal", "answered", "105", "106"), ("105", "106", "incoming")),
    ("hidden incoming answered", incoming(1, frm="anonymous"), None),
    ("outgoing no answer", outgoing(1, result="no_answer"), None),
    ("missed", missed(1), None),
    ("voicemail", voicemail(1), None),
]


@pytest.mark.parametrize("event, expected", [c[1:] for c in RESOLUTION_CASES], ids=[c[0] for c in RESOLUTION_CASES])
def test_resolution(event, expected):
    res = cb.resolution(event)
    assert (None if res is None else (res.caller_key, res.by_number, res.how)) == expected


DURATION_CASES = [
    (timedelta(seconds=40), "40 с"), (timedelta(minutes=12, seconds=59), "12 мин"), (timedelta(hours=1), "1 ч"),
    (timedelta(hours=1, minutes=5), "1 ч 5 мин"), (timedelta(days=2, hours=3, minutes=7), "2 дн 3 ч"),
    (timedelta(days=3), "3 дн"), (timedelta(seconds=-5), "0 с"),
]


@pytest.mark.parametrize("delta, expected", DURATION_CASES, ids=[c[1] for c in DURATION_CASES])
def test_duration_text(delta, expected):
    assert cb.duration_text(delta) == expected


MSK = timezone(timedelta(hours=3))
MISSED_AT = datetime(2026, 11, 25, 10, 30, tzinfo=MSK)
STATE_CASES = [
    ("open", ("open", None, None, None), "Открыт"),
    ("outgoing", ("called_back", "outgoing", "Иванов", MISSED_AT + timedelta(minutes=12)),
     "Перезвонили: Иванов, 10:42, через 12 мин"),
    ("incoming", ("called_back", "incoming", "Сидорова", MISSED_AT + timedelta(minutes=4)),
     "Дозвонился сам: Сидорова, 10:34, через 4 мин"),
    ("next day", ("called_back", "outgoing", "103", MISSED_AT + timedelta(hours=23)),
     "Перезвонили: 103, 26.11 09:30, через 23 ч"),
    ("unknown employee", ("called_back", "outgoing", None, MISSED_AT + timedelta(minutes=1)),
     "Перезвонили: 10:31, через 1 мин"),
    ("closed", ("closed", "manual", "admin@example.com", MISSED_AT + timedelta(hours=2)), "Закрыт вручную"),
]


@pytest.mark.parametrize("args, expected", [c[1:] for c in STATE_CASES], ids=[c[0] for c in STATE_CASES])
def test_state_text(args, expected):
    status, how, by, resolved = args
    assert cb.state_text(status, how, by, MISSED_AT, resolved) == expected


def _row(day, hour, status="open", wait_minutes=None, how="outgoing"):
    missed_at = datetime(2026, 11, day, hour, 0, tzinfo=MSK)
    if wait_minutes is None:
        return cb.MissedCall(KEY, missed_at, status=status)
    return cb.MissedCall(KEY, missed_at, status=status, resolved_at=missed_at + timedelta(minutes=wait_minutes),
                         resolved_how=how)


def test_daily_stats_per_company_day_with_empty_days_and_median():
    rows = [
        _row(23, 10, "called_back", 10), _row(23, 12, "called_back", 30), _row(23, 15),
        _row(25, 0, "called_back", 20, "incoming"),  # 00:00 Moscow is 21:00 UTC the day before: still the 25th
        _row(25, 9, "closed", 5, "manual"),  # closed by hand: missed, not called back, no time
        _row(22, 10, "called_back", 1),  # before the period
    ]
    stats = cb.daily_stats(rows, "Europe/Moscow", date(2026, 11, 23), date(2026, 11, 25))
    assert [(d.day.day, d.missed, d.called_back) for d in stats.days] == [(23, 3, 2), (24, 0, 0), (25, 2, 1)]
    assert stats.days[1].share is None and stats.days[0].share == pytest.approx(2 / 3)
    assert (stats.missed, stats.called_back, stats.share) == (5, 3, 0.6)
    assert stats.median == timedelta(minutes=20)


def test_daily_stats_empty():
    stats = cb.daily_stats([], "Europe/Moscow", date(2026, 11, 25), date(2026, 11, 25))
    assert [(d.missed, d.share) for d in stats.days] == [(0, None)]
    assert (stats.share, stats.median) == (None, None)
