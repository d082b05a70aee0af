"""Mango Office VPBX API (notifier.pbx.mango, notifier.services.mango_calls): the
signature, the translation table over whole calls (each a sequence of Mango's
requests), any order and any redelivery of them, and the path to email and
Telegram.

Sources of the fixtures (Mango's own documentation, MangoOffice_VPBX_API v1.9,
https://www.mango-office.ru/upload/api/MangoOffice_VPBX_API_v1.9.pdf; read as
extracted section by section in github.com/G-Ivan-A/mango_ba_prompts,
kb/mango-product-docs/processed/vpbx-api/sections/<file>):

- DOC_SIGN: §2.4.3 «О параметре sign» (20-o-parametre-sign.md):
  form fields vpbx_api_key, sign, json; sign = sha256(vpbx_api_key + json + vpbx_api_salt);
- DOC_CALL: §3.1.2 «Уведомление о вызове» (27-uvedomlenie-o-vyzove.md): the
  fields of events/call and the example notification (a leg to extension 29 of
  group 303, disconnect_reason 1131);
- DOC_SUMMARY: §3.1.6 «Уведомление о завершении вызова»
  (32-uvedomlenie-o-zavershenii-vyzova.md), examples 1-4;
- DOC_CODES: «Список кодов результатов» (243-spisok-kodov-rezultatov.md): 1110
  ended by the caller, 1111 no answer within the waiting time, 1121 busy, 1122
  rejected, 1123/1124 do not disturb, 113x unavailable, 1182 taken by another
  operator;
- DOC_OUT: «Примеры поведения / Уведомление о вызове» (245-uvedomlenie-o-vyzove.md):
  employee 1234 calls an outside number, Appeared / Connected / Disconnected;
- DOC_CALLBACK: «Инициирование исходящего вызова» (246-iniciirovanie-ishodyaschego-vyzova.md);
- DOC_ROUTE: «Маршрутизация вызова» (247-marshrutizaciya-vyzova.md): the IVR's
  leg, then a leg to extension 123 with taken_from_call_id;
- DOC_TRANSFER: «Перевод вызова с консультацией» (248-perevod-vyzova-s-konsultaciey.md);
- DOC_RECORDING: §3.1.4 «Уведомление о записи разговора» (29-...md) and §3.1.8
  «Событие о помещении записи разговора в облачное хранилище» (34-...md).

Where a documented example uses a placeholder number that is no phone number
(``12345678``, ``7800123456789``), the fixture says which number replaces it;
ids, field names, nesting, value types (numbers sent as strings too) are the
documentation's.
"""
from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from notifier import create_app
from notifier.core.events import parse_event
from notifier.extensions import db
from notifier.models import MangoNotification, utcnow
from notifier.pbx import mango
from notifier.pbx.base import BadAuth, BadBody, Translation, VendorRequest

from .factories import contact as add_contact
from .notify_setup import notified_employee, run_jobs
from .pbx_helpers import any_text, assert_answer_ok, configure_pbx, fuzz, pbx_status, stored_events

KEY, SALT = "1234567890qwerty", "salt-0123456789abcdef"  # DOC_SIGN's example key; any salt
CREDS = {"MANGO_API_KEY": KEY, "MANGO_API_SALT": SALT}
URL = "/api/v1/pbx/mango"
T0 = 1764054903  # 2025-11-25 10:15:03 Moscow, a working Tuesday


def form(body: dict | str, key: str = KEY, salt: str = SALT) -> dict:
    """The form Mango posts (DOC_SIGN): the json string as sent, signed over exactly that string."""
    payload = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return {"vpbx_api_key": key, "sign": mango.signature(key, payload, salt), "json": payload}


def request(path: str, body: dict | str, **kw) -> VendorRequest:
    return VendorRequest(method="POST", path=path, form=form(body, **kw),
                         content_type="application/x-www-form-urlencoded")


# --------------------------------------------------------------------------- documented shapes

def leg(entry: str, call: str, seq: int, state: str, ts: int, frm: dict, to: dict, location: str = "abonent",
        **extra) -> tuple[str, dict]:
    """An events/call request in DOC_CALL's shape (fields, nesting, types as documented)."""
    body = {"entry_id": entry, "call_id": call, "timestamp": ts, "seq": seq, "call_state": state,
            "location": location, "from": frm, "to": to, **extra}
    return "events/call", body


def summary(entry: str, direction: int, frm: dict, to: dict, create: int, talk: int, end: int, result: int,
            reason: int, line: str | None = "74951234567") -> tuple[str, dict]:
    """An events/summary request in DOC_SUMMARY's shape."""
    body = {"entry_id": entry, "call_direction": direction, "from": frm, "to": to, "create_time": create,
            "forward_time": create + 2 if direction == 1 else create, "talk_time": talk, "end_time": end,
            "entry_result": result, "disconnect_reason": reason}
    if line:
        body["line_number"] = line
    return "events/summary", body


CALLER = {"number": "79001234567"}
LINE = "74951234567"


def ivr(entry: str) -> list[tuple[str, dict]]:
    """DOC_ROUTE: the call first sits in the IVR (its own leg, no employee)."""
    return [leg(entry, f"{entry}-ivr", 1, "Appeared", T0, CALLER, {"number": LINE, "line_number": LINE}, "ivr"),
            leg(entry, f"{entry}-ivr", 2, "Disconnected", T0 + 2, CALLER, {"number": LINE, "line_number": LINE},
                "ivr", disconnect_reason="1100")]


def ring(entry: str, call: str, ext: str, start: int, end: int, reason, answered_at: int | None = None,
         group: str | None = None, frm: dict | None = None) -> list[tuple[str, dict]]:
    """A leg ringing ``ext`` as DOC_ROUTE's leg to extension 123 (taken from the IVR's leg),
    with DOC_CALL's acd_group when it rings as a group member; reason as DOC_CODES."""
    to = {"extension": ext, "number": f"sip:user{ext}@vpbx400000000.mangosip.ru", "line_number": LINE}
    if group is not None:
        to["acd_group"] = group
    frm = frm or {**CALLER, "taken_from_call_id": f"{entry}-ivr"}
    reqs = [leg(entry, call, 1, "Appeared", start, frm, to)]
    if answered_at is not None:
        reqs.append(leg(entry, call, 2, "Connected", answered_at, frm, to))
    reqs.append(leg(entry, call, len(reqs) + 1, "Disconnected", end, frm, to, disconnect_reason=reason))
    return reqs


# --------------------------------------------------------------------------- the calls

E = "MTYxNzM5NjY0OTE="

CALLS = {
    # Direct ring timed out: IVR, then extension 102 rings 20 s, 1111 (DOC_CODES); the
    # summary names 102 as the first who missed it (DOC_SUMMARY example 1's shape, talk_time 0).
    "direct ring timed out": (
        ivr(E) + ring(E, "c-102", "102", T0 + 2, T0 + 22, 1111)
        + [summary(E, 1, CALLER, {"extension": "102"}, T0, 0, T0 + 22, 0, 1111)],
        {f"mango:{E}:102": dict(direction="external", routing="direct", to="102", result="no_answer",
                                started_at="2025-11-25T10:15:05+03:00", ended_at="2025-11-25T10:15:25+03:00",
                                ring_seconds=20, line=LINE)},
    ),
    # The caller hangs up while 102 rings: 1110 (DOC_CODES), nobody else on the call.
    "caller hung up while ringing": (
        ivr(E) + ring(E, "c-102", "102", T0 + 2, T0 + 9, "1110")
        + [summary(E, 1, CALLER, {"extension": "102"}, T0, 0, T0 + 9, 0, 1110)],
        {f"mango:{E}:102": dict(direction="external", routing="direct", to="102", result="caller_hangup",
                                ring_seconds=7)},
    ),
    # Group 303 rings 102 and 103 (acd_group as in DOC_CALL); 103 answers at +8, 102's ring
    # is cut with 1110 at that moment, the talk ends with the caller hanging up (1110).
    "group ring answered by someone else": (
        ivr(E) + ring(E, "c-102", "102", T0 + 2, T0 + 8, 1110, group="303")
        + ring(E, "c-103", "103", T0 + 2, T0 + 70, 1110, answered_at=T0 + 8, group="303")
        + [summary(E, 1, CALLER, {"extension": "103", "number": "sip:user103@vpbx400000000.mangosip.ru"},
                   T0, T0 + 8, T0 + 70, 1, 1110)],
        {f"mango:{E}:102:group": dict(direction="external", routing="group", to="102",
                                      result="answered_elsewhere", ring_seconds=6),
         f"mango:{E}:103:group": dict(direction="external", routing="group", to="103", result="answered",
                                      ring_seconds=6, ended_at="2025-11-25T10:16:13+03:00")},
    ),
    # Nobody in group 303 answers and the caller gives up: every ringing leg gets 1110.
    "group ring, caller gave up": (
        ring(E, "c-102", "102", T0, T0 + 15, "1110", group="303", frm=CALLER)
        + ring(E, "c-103", "103", T0, T0 + 15, "1110", group="303", frm=CALLER)
        + [summary(E, 1, CALLER, {"extension": "102"}, T0, 0, T0 + 15, 0, 1110)],
        {f"mango:{E}:102:group": dict(routing="group", to="102", result="caller_hangup"),
         f"mango:{E}:103:group": dict(routing="group", to="103", result="caller_hangup")},
    ),
    # Group 303 rings out (1111), then the scheme rings 102 directly, who misses it too:
    # the direct ring is a missed call of its own.
    "group timed out, then a direct ring timed out": (
        ring(E, "c-g102", "102", T0, T0 + 20, 1111, group="", frm=CALLER)
        + ring(E, "c-g103", "103", T0, T0 + 20, 1111, group="", frm=CALLER)
        + ring(E, "c-102", "102", T0 + 20, T0 + 40, 1111, frm=CALLER)
        + [summary(E, 1, CALLER, {"extension": "102"}, T0, 0, T0 + 40, 0, 1111)],
        {f"mango:{E}:102:group": dict(routing="group", to="102", result="no_answer"),
         f"mango:{E}:103:group": dict(routing="group", to="103", result="no_answer"),
         f"mango:{E}:102": dict(routing="direct", to="102", result="no_answer", ring_seconds=20,
                                started_at="2025-11-25T10:15:23+03:00")},
    ),
    # 102 rings on two devices at once: the softphone times out, the mobile answers.
    "one employee, two devices, answered on one": (
        ring(E, "c-sip", "102", T0, T0 + 20, 1111, frm=CALLER)
        + ring(E, "c-mob", "102", T0, T0 + 90, 1110, answered_at=T0 + 12, frm=CALLER)
        + [summary(E, 1, CALLER, {"extension": "102", "number": "79161234567"}, T0, T0 + 12, T0 + 90, 1, 1110)],
        {f"mango:{E}:102": dict(routing="direct", to="102", result="answered", ring_seconds=12)},
    ),
    # Internal: employee 101 (from.extension, DOC_CALL 7.1) calls 102, who does not answer;
    # summary call_direction 0.
    "internal call unanswered": (
        ring(E, "c-102", "102", T0, T0 + 25, 1111,
             frm={"extension": "101", "number": "sip:user101@vpbx400000000.mangosip.ru"})
        + [summary(E, 0, {"extension": "101", "number": "sip:user101@vpbx400000000.mangosip.ru"},
                   {"extension": "102"}, T0, 0, T0 + 25, 0, 1111, line=None)],
        {f"mango:{E}:102": dict(direction="internal", routing="direct", **{"from": "101"}, to="102",
                                result="no_answer", ring_seconds=25)},
    ),
    # Busy / rejected / do not disturb / unavailable (DOC_CODES 1121, 1122, 1123, 1131).
    "busy, rejected, do not disturb, unavailable": (
        ring(E, "c-1", "101", T0, T0 + 1, 1121, frm=CALLER) + ring(E, "c-2", "102", T0, T0 + 3, 1122, frm=CALLER)
        + ring(E, "c-3", "103", T0, T0 + 1, 1123, frm=CALLER) + ring(E, "c-4", "104", T0, T0 + 1, 1131, frm=CALLER)
        + [summary(E, 1, CALLER, {"extension": "101"}, T0, 0, T0 + 3, 0, 1121)],
        {f"mango:{E}:101": dict(result="busy"), f"mango:{E}:102": dict(result="rejected"),
         f"mango:{E}:103": dict(result="unavailable"), f"mango:{E}:104": dict(result="unavailable")},
    ),
    # DOC_OUT: employee 1234 calls out, the callee answers and hangs up (1120); the
    # documented "12345678" is no phone number: 74957654321 instead. Summary call_direction 2.
    "outgoing call answered": (
        [leg("232wc3e3w3s222", "100:500:256", 1, "Appeared", 1399906976, {"extension": "1234"},
             {"number": "74957654321"}),
         leg("232wc3e3w3s222", "100:500:256", 2, "Connected", 1399906988,
             {"extension": "1234", "number": "74955404444"}, {"number": "74957654321"}),
         leg("232wc3e3w3s222", "100:500:256", 3, "Disconnected", 1399907008,
             {"extension": "1234", "number": "74955404444"}, {"number": "74957654321"}, disconnect_reason="1120"),
         summary("232wc3e3w3s222", 2, {"extension": "1234", "number": "74955404444"}, {"number": "74957654321"},
                 1399906976, 1399906988, 1399907008, 1, 1120)],
        {"mango:232wc3e3w3s222:1234:out:74957654321": dict(
            direction="outgoing", **{"from": "1234"}, to="74957654321", result="answered",
            started_at="2014-05-12T18:02:56+03:00", ended_at="2014-05-12T18:03:28+03:00", ring_seconds=12)},
    ),
    # DOC_SUMMARY example 4 (unsuccessful outgoing call from extension 123), only the summary;
    # "7800123456789" is no phone number: 78001234567 instead.
    "outgoing call not answered, summary only": (
        [summary("232wc3e3w3s222", 2, {"extension": "123", "number": "sip:user1@xyz.mangosip.ru"},
                 {"number": "78001234567"}, 1399906976, 0, 1399906990, 0, 1100, line="74953333357")],
        {"mango:232wc3e3w3s222:123:out:78001234567": dict(
            direction="outgoing", **{"from": "123"}, to="78001234567", result="caller_hangup", ring_seconds=14)},
    ),
    # DOC_SUMMARY example 2: the call ended in the IVR, entry_result 1 all the same: no employee, no event.
    "IVR only (entry_result 1 without any employee)": (
        [
            ("events/summary", {"entry_id": "232wc3e3w3s222", "call_direction": 1, "from": {"number": "79000000000"},
                                "to": {}, "line_number": "7800123456789", "create_time": 1399906976,
                                "forward_time": 1399906978, "talk_time": 0, "end_time": 1399906990,
                                "entry_result": 1, "disconnect_reason": 1170})],
        {},
    ),
    # DOC_CALL's example notification as documented (group 303, sip numbers, 1131), with a summary.
    "documented leg: group member unavailable": (
        [("events/call", {"entry_id": "1MN0Q1MDOQ==", "call_id": "MIxEyNTzTo6NDxkzNMMOzNQ==",
                          "timestamp": 1558422128, "seq": 2, "call_state": "Disconnected", "location": "abonent",
                          "from": {"number": "79001234567", "taken_from_call_id": "oMNTMyzTzNTo6NxNkDIxOxM3EMNTj"},
                          "to": {"extension": "29", "number": "sip:user00000@tech.mangosip.ru",
                                 "line_number": "sip:line00000@tech.mangosip.ru", "acd_group": "303"},
                          "disconnect_reason": 1131, "dct": {"number": "74001234567", "type": 1}}),
         summary("1MN0Q1MDOQ==", 1, CALLER, {"extension": "29"}, 1558422100, 0, 1558422128, 0, 1131)],
        {"mango:1MN0Q1MDOQ==:29:group": dict(routing="group", to="29", result="unavailable",
                                             line="sip:line00000@tech.mangosip.ru")},
    ),
    # DOC_CALLBACK: a callback ordered for 1234 to an outside number that turns out to be
    # employee 5555. The PBX first rings 1234 (not a call *to* 1234: no event), then 1234's
    # call rings 5555, who is on do not disturb (1124). The summary is not in that example:
    # an internal one (call_direction 0) is added.
    "callback: the initiator's own ring is no call to them": (
        [leg("232wc3e3w3s222", "100:500:251", 1, "Appeared", 1399906971, {"extension": "5555", "number": "74955404444"},
             {"extension": "1234", "number": "12345678"}, command_id="cmd.2.vpbx.12345.external.system.com.net"),
         leg("232wc3e3w3s222", "100:500:251", 2, "Connected", 1399906973,
             {"extension": "5555", "number": "74955404444"}, {"extension": "1234", "number": "12345678"},
             command_id="cmd.2.vpbx.12345.external.system.com.net"),
         leg("232wc3e3w3s222", "100:500:251", 3, "Disconnected", 1399906975,
             {"extension": "5555", "number": "74955404444"}, {"extension": "1234", "number": "12345678"},
             disconnect_reason="1000", command_id="cmd.2.vpbx.12345.external.system.com.net"),
         leg("232wc3e3w3s222", "100:500:258", 1, "Appeared", 1399906976,
             {"extension": "1234", "number": "12345678", "taken_from_call_id": "100:500:251"},
             {"extension": "5555", "number": "74955404444"}, command_id="cmd.2.vpbx.12345.external.system.com.net"),
         leg("232wc3e3w3s222", "100:500:258", 2, "Disconnected", 1399906979,
             {"extension": "1234", "number": "12345678"}, {"extension": "5555", "number": "74955404444"},
             disconnect_reason="1124", command_id="cmd.2.vpbx.12345.external.system.com.net"),
         summary("232wc3e3w3s222", 0, {"extension": "1234"}, {"extension": "5555"}, 1399906971, 0, 1399906979, 0,
                 1124, line=None)],
        {"mango:232wc3e3w3s222:5555": dict(direction="internal", **{"from": "1234"}, to="5555",
                                           result="unavailable", ring_seconds=3)},
    ),
    # DOC_TRANSFER: 123 answers an outside caller, puts them on hold, consults 321 (an
    # internal call), 321 takes the caller over. The documented "12345678"/"87654321" are
    # the employees' devices (not used); the summary is added (not in that example).
    "transfer with consultation: both answered": (
        [leg("232wc3e3w3s222", "200:514", 1, "Appeared", 1398956978, {"number": "74955404444"},
             {"extension": "123", "number": "12345678"}),
         leg("232wc3e3w3s222", "200:514", 2, "Connected", 1398956985, {"number": "74955404444"},
             {"extension": "123", "number": "12345678"}),
         leg("232wc3e3w3s222", "200:514", 3, "OnHold", 1398956995, {"number": "74955404444"},
             {"extension": "123", "number": "12345678"}),
         leg("232wc3e3w3s222", "202:515", 1, "Appeared", 1398957005,
             {"extension": "123", "number": "12345678", "taken_from_call_id": "200:514"},
             {"extension": "321", "number": "87654321"}),
         leg("232wc3e3w3s222", "202:515", 2, "Connected", 1398957005,
             {"extension": "123", "number": "12345678", "taken_from_call_id": "200:514"},
             {"extension": "321", "number": "87654321"}),
         leg("232wc3e3w3s222", "200:514", 4, "Disconnected", 1398956995, {"number": "74955404444"},
             {"extension": "123", "number": "12345678"}, disconnect_reason="1120"),
         leg("232wc3e3w3s222", "202:515", 3, "Connected", 1398957005,
             {"number": "74955404444", "taken_from_call_id": "200:514"}, {"extension": "321", "number": "87654321"}),
         leg("232wc3e3w3s222", "202:515", 4, "Disconnected", "1398957015",
             {"number": "74955404444", "taken_from_call_id": "200:514"}, {"extension": "321", "number": "87654321"},
             disconnect_reason="1110"),
         summary("232wc3e3w3s222", 1, {"number": "74955404444"}, {"extension": "321"}, 1398956978, 1398956985,
                 1398957015, 1, 1110)],
        {"mango:232wc3e3w3s222:123": dict(direction="external", **{"from": "74955404444"}, to="123",
                                          result="answered", ring_seconds=7),
         "mango:232wc3e3w3s222:321": dict(direction="internal", **{"from": "123"}, to="321", result="answered",
                                          ring_seconds=0)},
    ),
}


def play(requests) -> tuple[dict[str, dict], list[str]]:
    """Mango's requests in this order, as the plumbing takes them: each kept once (by
    call, leg, seq), then the call's events; the first event of each id is the one
    stored. Returns the events by id and the notes of the requests that made none."""
    kept: dict[tuple[str, str, int], mango.Note] = {}
    made: dict[str, dict] = {}
    notes: list[str] = []
    for path, body in requests:
        read = mango.read(request(path, body))
        if isinstance(read, Translation):
            notes.append(read.note)
            continue
        kept.setdefault((read.entry_id, read.call_id, read.seq), read)
        events, note = mango.events([n for n in kept.values() if n.entry_id == read.entry_id])
        for event in events:
            parse_event(event)  # what the intake will check
            made.setdefault(event["id"], event)
        if not events:
            notes.append(note)
    return made, notes


def check(made: dict[str, dict], expected: dict[str, dict]) -> None:
    assert set(made) == set(expected)
    for eid, fields in expected.items():
        assert {k: made[eid].get(k) for k in fields} == fields, eid
        assert made[eid]["type"] == "call.ended" and made[eid]["call_id"] == "mango:" + eid.split(":")[1]


@pytest.mark.parametrize("requests, expected", list(CALLS.values()), ids=list(CALLS))
def test_translation_of_whole_calls(requests, expected):
    made, _ = play(requests)
    check(made, expected)


def test_nothing_before_the_summary_then_the_events():
    requests, expected = CALLS["direct ring timed out"]
    made, notes = play(requests[:-1])
    assert made == {} and all("events/summary" in n for n in notes)
    made, _ = play(requests)
    assert set(made) == set(expected)


def test_a_leg_still_ringing_at_the_summary_is_decided_when_it_ends():
    requests, expected = CALLS["group ring answered by someone else"]
    late = [r for r in requests if r[1].get("call_id") == "c-102" and r[1]["call_state"] == "Disconnected"]
    rest = [r for r in requests if r not in late]
    made, _ = play(rest)
    assert set(made) == {f"mango:{E}:103:group"}
    made, _ = play(rest + late)
    check(made, expected)


def test_a_connected_that_arrives_last_is_settled_by_the_summary():
    """103's Connected comes after its Disconnected and the summary: the summary names 103."""
    requests, expected = CALLS["group ring answered by someone else"]
    connected = [r for r in requests if r[1].get("call_state") == "Connected"]
    made, _ = play([r for r in requests if r not in connected] + connected)
    check(made, expected)


def test_mango_codes_map_by_class():
    assert [mango.reason_result(c) for c in (1111, 1121, 1122, 1123, 1124, 1131, 1139, 1182, 1193, 4201)] == [
        "no_answer", "busy", "rejected", "unavailable", "unavailable", "unavailable", "unavailable",
        "answered_elsewhere", "busy", "unavailable"]
    # cut short: the caller, or a colleague answered (the other legs tell)
    assert [mango.reason_result(c) for c in (None, 1000, 1100, 1110, 1119, 1183)] == [None] * 6
    assert [mango.reason_result(c) for c in (1140, 1151, 1170, 2240, 3200, 5003)] == ["failed"] * 6


# --------------------------------------------------------------------------- order and redelivery

def sent_at(request) -> int:
    path, body = request
    return int(body["end_time"] if path == "events/summary" else body["timestamp"])


@fuzz(200)
@given(name=st.sampled_from(sorted(CALLS)), data=st.data())
def test_any_order_and_any_redelivery_make_the_same_events(name, data):
    """Mango sends notifications in parallel without waiting for answers (DOC_CALL,
    «Использование счетчика последовательности seq»): those of one moment arrive in
    any order (the summary with the last legs' Disconnected), and any may come again
    later. Whatever the order, the same events, each id once."""
    requests, expected = CALLS[name]
    moments = sorted({sent_at(r) for r in requests})
    order = []
    for moment in moments:
        order += data.draw(st.permutations([r for r in requests if sent_at(r) == moment]))
    for _ in range(data.draw(st.integers(0, 6))):
        original = data.draw(st.integers(0, len(order) - 1))
        order.insert(data.draw(st.integers(original + 1, len(order))), order[original])
    made, _ = play(order)
    assert set(made) == set(expected)
    for eid, fields in expected.items():
        for key in ("direction", "routing", "from", "to", "result"):
            if key in fields:
                assert made[eid][key] == fields[key], (eid, key)


def test_redelivery_of_a_whole_call_changes_nothing():
    requests, expected = CALLS["direct ring timed out"]
    once, _ = play(requests)
    twice, _ = play(requests + requests)
    assert once == twice and set(once) == set(expected)


# --------------------------------------------------------------------------- requests that are no call

@pytest.mark.parametrize("path, body", [
    # DOC_RECORDING §3.1.4, example 1
    ("events/recording", {"recording_id": "r100:777:500:256", "recording_state": "Started", "seq": 1,
                          "call_id": "100:500:256", "entry_id": "232wc3e3w3s222", "extension": "1234",
                          "timestamp": "1399906976", "command_id": "cmd.12.vpbx.12345.external.system.com.net"}),
    # DOC_RECORDING §3.1.8
    ("events/record/added", {"entry_id": "NTAwOTQxMTAyMg==", "product_id": 300022532, "user_id": 300049012,
                             "timestamp": 1578664187, "recording_id": "MToxMDAwNjA4NTo1MDA5NDExMDIyOjE="}),
])
def test_recordings_are_no_voicemail(path, body):
    """Mango has no voicemail event; a recording cannot be told from a conversation's."""
    read = mango.read(request(path, body))
    assert isinstance(read, Translation) and read.events == []
    assert read.reply == mango.OK and "голосов" in read.note


def test_other_mango_notifications_are_answered_and_ignored():
    # the DTMF notification of «О параметре location» (31-o-parametre-location.md)
    read = mango.read(request("events/dtmf", {"seq": 1, "dtmf": "124", "timestamp": "1399906980",
                                              "call_id": "100:500:256", "entry_id": "232wc3e3w3s222",
                                              "location": "ivr.2", "initiator": "79000000000"}))
    assert isinstance(read, Translation) and read.events == [] and read.reply == mango.OK
    unknown_state = mango.read(request(*leg(E, "c", 1, "Transferring", T0, CALLER, {"extension": "102"})))
    assert isinstance(unknown_state, Translation) and "Transferring" in unknown_state.note


@pytest.mark.parametrize("path, body, message", [
    ("events/call", "not json", "не JSON"),
    ("events/call", "[1, 2]", "объектом"),
    ("events/call", {"call_id": "c", "seq": 1, "call_state": "Appeared"}, "entry_id"),
    ("events/call", {"entry_id": "e", "seq": 1, "call_state": "Appeared"}, "call_id"),
    ("events/call", {"entry_id": "e", "call_id": "c", "call_state": "Appeared"}, "seq"),
    ("events/call", {"entry_id": "e", "call_id": "c", "seq": "x", "call_state": "Appeared"}, "seq"),
    ("events/call", {"entry_id": "e", "call_id": "c", "seq": "²", "call_state": "Appeared"}, "seq"),
    ("events/call", {"entry_id": "e", "call_id": "c", "seq": 0, "call_state": "Appeared"}, "seq"),
    ("events/call", {"entry_id": "e", "call_id": "c", "seq": 1}, "call_state"),
    ("events/call", {"entry_id": "e", "call_id": "c", "seq": 1, "call_state": "Appeared", "to": "102"}, "to"),
    ("events/call", {"entry_id": "e" * 200, "call_id": "c", "seq": 1, "call_state": "Appeared"}, "entry_id"),
    ("events/summary", {"call_direction": 1}, "entry_id"),
    ("events/summary", {"entry_id": "e", "from": []}, "from"),
    ("", {"entry_id": "e"}, "неизвестный адрес"),
    ("call", {"entry_id": "e"}, "неизвестный адрес"),
])
def test_bad_bodies_are_refused_with_the_reason(path, body, message):
    with pytest.raises(BadBody) as err:
        mango.read(request(path, body))
    assert message in err.value.message


def test_a_request_without_json_is_a_bad_body():
    req = VendorRequest(method="POST", path="events/call", form={"vpbx_api_key": KEY, "sign": "x"})
    with pytest.raises(BadBody):
        mango.read(req)


# --------------------------------------------------------------------------- the signature

def test_the_signature_is_sha256_of_key_json_salt_over_the_raw_string():
    payload = '{ "entry_id":"232wc3e3w3s222", "call_direction":1 }'  # spaces as sent: signed as sent
    mango.verify(request("events/summary", payload), CREDS)
    assert mango.signature(KEY, payload, SALT) == hashlib.sha256((KEY + payload + SALT).encode()).hexdigest()
    upper = dict(form(payload), sign=mango.signature(KEY, payload, SALT).upper())
    mango.verify(VendorRequest(path="events/summary", form=upper), CREDS)


@pytest.mark.parametrize("change, message", [
    ({"sign": None}, "нет полей"),
    ({"vpbx_api_key": None}, "нет полей"),
    ({"vpbx_api_key": "another-pbx"}, "vpbx_api_key"),
    ({"sign": "0" * 64}, "подпись"),
    ({"json": '{"entry_id":"232wc3e3w3s223","call_direction":1}'}, "подпись"),  # json changed after signing
])
def test_bad_signatures_are_refused(change, message):
    fields = {**form({"entry_id": "232wc3e3w3s222", "call_direction": 1}), **change}
    req = VendorRequest(path="events/summary", form={k: v for k, v in fields.items() if v is not None})
    with pytest.raises(BadAuth) as err:
        mango.verify(req, CREDS)
    assert message in err.value.message


def test_signed_with_another_salt_is_refused():
    with pytest.raises(BadAuth):
        mango.verify(request("events/call", {"entry_id": "e"}, salt="wrong-salt"), CREDS)


# --------------------------------------------------------------------------- over HTTP

@pytest.fixture
def mango_on(app):
    configure_pbx(app, MANGO_API_KEY=KEY, MANGO_API_SALT=SALT)


def post(client, path: str, body, **kw):
    return client.post(f"{URL}/{path}", data=form(body, **kw))


def send(client, requests) -> list:
    return [post(client, path, body) for path, body in requests]


def kept_rows(app) -> int:
    return db.session.scalar(select(func.count()).select_from(MangoNotification))


def test_a_call_over_http_is_answered_200_and_stored_at_the_summary(app, client, mango_on):
    requests, expected = CALLS["direct ring timed out"]
    answers = send(client, requests)
    assert [r.status_code for r in answers] == [200] * len(requests)
    assert all(r.get_json() == {"result": 1000} for r in answers)
    [(eid, source, raw, payload)] = stored_events(app)
    assert (eid, source, payload["result"], payload["routing"]) == (f"mango:{E}:102", "mango", "no_answer", "direct")
    assert raw["path"] == f"{URL}/events/summary" and raw["form"]["sign"] == "***"
    assert raw["form"]["vpbx_api_key"] == "***" and json.loads(raw["form"]["json"])["entry_id"] == E
    assert SALT not in json.dumps(raw)
    st = pbx_status(app, "mango")
    assert st.counts == {"accepted": len(requests)} and st.last_detail == f"mango:{E}:102: accepted"
    # Mango repeats itself: every request again, nothing new
    assert all(r.status_code == 200 for r in send(client, requests))
    assert len(stored_events(app)) == 1 and kept_rows(app) == len(requests)
    assert pbx_status(app, "mango").counts == {"accepted": len(requests), "duplicate": len(requests)}


def test_bad_signature_is_401_counted_and_nothing_kept(app, client, mango_on):
    path, body = CALLS["direct ring timed out"][0][-1]
    resp = post(client, path, body, salt="not-the-salt")
    assert resp.status_code == 401 and "подпись" in resp.get_json()["error"]
    resp = post(client, path, body, key="other-pbx")
    assert resp.status_code == 401
    assert stored_events(app) == [] and kept_rows(app) == 0
    assert pbx_status(app, "mango").counts == {"bad_auth": 2}


def test_not_configured_is_403(app, client):
    path, body = CALLS["direct ring timed out"][0][-1]
    assert post(client, path, body).status_code == 403
    assert pbx_status(app, "mango").counts == {"not_configured": 1}


def test_the_cabinet_check_is_answered(app, client, mango_on):
    resp = client.post(f"{URL}/ping", data={"vpbx_api_key": KEY})
    assert resp.status_code == 200 and resp.get_json() == {"result": 1000}
    assert pbx_status(app, "mango").counts == {"check": 1}


def test_a_malformed_notification_is_400(app, client, mango_on):
    resp = post(client, "events/call", {"entry_id": "e", "call_id": "c", "call_state": "Appeared"})
    assert resp.status_code == 400 and "seq" in resp.get_json()["error"]
    assert kept_rows(app) == 0 and pbx_status(app, "mango").counts == {"bad_body": 1}


def test_the_notes_survive_a_restart(app, client, mango_on, database_uri, redis_url):
    """Legs before a restart, the summary after: the call's event is made from the kept legs."""
    requests, _ = CALLS["direct ring timed out"]
    send(client, requests[:-1])
    # another process on the same database and instance folder (whose key decrypts the saved salt)
    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_uri, "REDIS_URL": redis_url,
                        "INSTANCE_PATH": app.instance_path, "SECRET_KEY": "test-secret-key", "SERVER_NAME": None})
    with fresh.app_context():
        path, body = requests[-1]
        assert fresh.test_client().post(f"{URL}/{path}", data=form(body)).status_code == 200
        db.engine.dispose()
    assert [e[0] for e in stored_events(app)] == [f"mango:{E}:102"]


def test_old_notes_are_deleted_when_a_summary_comes(app, client, mango_on):
    send(client, CALLS["caller hung up while ringing"][0][:-1])
    with db.engine.begin() as conn:
        conn.execute(MangoNotification.__table__.update().values(received_at=utcnow() - timedelta(days=4)))
    send(client, CALLS["outgoing call answered"][0])
    assert set(db.session.scalars(select(MangoNotification.entry_id))) == {"232wc3e3w3s222"}


def test_the_last_leg_and_the_summary_at_once_make_the_event_once(app, mango_on):
    """Mango posts in parallel: a leg's Disconnected and the summary race; whichever is
    kept last sees both, and the event is stored once."""
    rounds = 8
    for n in range(rounds):
        entry = f"race-{n}"
        requests = (ring(entry, "c-102", "102", T0, T0 + 20, 1111, frm=CALLER)
                    + [summary(entry, 1, CALLER, {"extension": "102"}, T0, 0, T0 + 20, 0, 1111)])
        app.test_client().post(f"{URL}/{requests[0][0]}", data=form(requests[0][1]))
        barrier = threading.Barrier(2)
        answers: list[int] = []

        def go(path, body, barrier=barrier, answers=answers):
            with app.app_context():  # a thread of its own, like a web worker
                client = app.test_client()
                barrier.wait()
                answers.append(client.post(f"{URL}/{path}", data=form(body)).status_code)

        threads = [threading.Thread(target=go, args=r) for r in requests[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [200, 200]
    ids = [e[0] for e in stored_events(app)]
    assert sorted(ids) == sorted(f"mango:race-{n}:102" for n in range(rounds))


# --------------------------------------------------------------------------- end to end

@pytest.fixture
def employee(app, smtp_server, fake_telegram, mango_on):
    """Employee 102 with a rule for missed calls; email and Telegram configured."""
    return notified_employee(smtp_server, fake_telegram).id


def test_mango_missed_call_notifies_by_email_and_telegram_exactly_once(app, client, employee, smtp_server,
                                                                        fake_telegram):
    add_contact("ООО Ромашка", "+7 900 123-45-67", vip=True)
    missed, _ = CALLS["direct ring timed out"]
    assert all(r.status_code == 200 for r in send(client, missed))
    assert all(r.status_code == 200 for r in send(client, missed))  # Mango repeats: nothing twice
    # the same caller again: 102 rings as a group member and a colleague answers: nobody notified
    group = [(p, {**b, "entry_id": "second"}) for p, b in CALLS["group ring answered by someone else"][0]]
    assert all(r.status_code == 200 for r in send(client, group))
    # 102 calls back: stored as outgoing, nobody notified
    callback = [(p, {**b, "entry_id": "third", "from": {"extension": "102"}, "to": {"number": "79001234567"}})
                for p, b in CALLS["outgoing call answered"][0]]
    assert all(r.status_code == 200 for r in send(client, callback))
    run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "Пропущенный звонок от +7 900 123-45-67, ООО Ромашка, VIP"
    assert mail.rcpt_tos == ["ivanov@example.com"]
    [message] = fake_telegram.wait_for(1)
    assert message["chat_id"] == 5551234 and "ООО Ромашка" in message["text"]
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1
    results = {eid: payload["result"] for eid, _, _, payload in stored_events(app)}
    assert results == {f"mango:{E}:102": "no_answer", "mango:second:102:group": "answered_elsewhere",
                       "mango:second:103:group": "answered", "mango:third:102:out:79001234567": "answered"}


# --------------------------------------------------------------------------- fuzz

FIELDS = ["entry_id", "call_id", "seq", "call_state", "timestamp", "location", "from", "to", "disconnect_reason",
          "call_direction", "create_time", "talk_time", "end_time", "command_id"]
values = st.one_of(any_text, st.none(), st.booleans(), st.integers(-2**63, 2**63), st.floats(allow_nan=False),
                   st.sampled_from(["Appeared", "Connected", "Disconnected", "abonent", "ivr", "1111", "1110"]),
                   st.dictionaries(st.sampled_from(["extension", "number", "acd_group", "line_number",
                                                    "taken_from_call_id"]),
                                   st.one_of(any_text, st.integers(), st.none(), st.lists(st.integers(), max_size=2)),
                                   max_size=4),
                   st.lists(st.integers(), max_size=3))


@fuzz(250)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), values, max_size=6),
       base=st.sampled_from([body for reqs, _ in CALLS.values() for _, body in reqs][:40]),
       path=st.sampled_from(["events/call", "events/summary", "events/recording", "events/x", "", "ping", "x/y"]),
       raw=st.one_of(st.none(), any_text), signed=st.booleans())
def test_odd_mango_requests_never_5xx(app, client, mango_on, changes, base, path, raw, signed):
    body = raw if raw is not None else {**base, **changes}
    fields = form(body) if signed else {"vpbx_api_key": KEY, "sign": "bad", "json": str(body)}
    resp = client.post(f"{URL}/{path}".rstrip("/"), data=fields)
    assert_answer_ok(app, resp, "mango")
