"""Asterisk / FreePBX (notifier.pbx.asterisk): the per-call state machine over AMI
events, table-tested on whole calls (tests/ami_calls.py says where each event's
fields and the order of events come from), the AMI address, voicemail from
MessageWaiting, and the AMI wire protocol (notifier.pbx.ami) against the
in-test AMI server."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from notifier.core.events import parse_event
from notifier.pbx import ami, asterisk

from . import ami_calls as calls
from .fakes.ami_server import FakeAmi

T0 = datetime(2026, 11, 25, 7, 15, 3, tzinfo=timezone.utc)  # 10:15:03 in Moscow


def play(sequence, state=None, roundtrip: bool = False):
    """Feed (seconds, event) pairs to apply(); the events made, and the last state.
    ``roundtrip``: the state goes through JSON between events, as Redis keeps it."""
    made = []
    for seconds, event in sequence:
        state, events = asterisk.apply(state, event, T0 + timedelta(seconds=seconds))
        if roundtrip and state is not None:
            state = json.loads(json.dumps(state))
        made.extend(events)
    return made, state


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


# --------------------------------------------------------------------------- the table

def _direct(status, result):
    call, seq = calls.direct_no_answer(status=status)
    return seq, [{"id": f"asterisk:{call.linkedid}:102", "type": "call.ended", "call_id": call.linkedid,
                  "started_at": at(0), "ended_at": at(30), "ring_seconds": 30, "direction": "external",
                  "routing": "direct", "from": "+79023855270", "to": "102", "line": "74951234567",
                  "result": result}]


def _internal():
    call, seq = calls.internal_no_answer()
    return seq, [{"id": f"asterisk:{call.linkedid}:102", "type": "call.ended", "call_id": call.linkedid,
                  "started_at": at(0), "ended_at": at(20), "ring_seconds": 20, "direction": "internal",
                  "from": "101", "to": "102", "result": "no_answer"}]


def _group():
    call, seq = calls.group_answered_elsewhere()
    base = {"type": "call.ended", "call_id": call.linkedid, "started_at": at(1), "ended_at": at(9),
            "ring_seconds": 8, "direction": "external", "routing": "group", "from": "+79023855270",
            "line": "74951234568"}
    return seq, [{**base, "id": f"asterisk:{call.linkedid}:101", "to": "101", "result": "answered"},
                 {**base, "id": f"asterisk:{call.linkedid}:102", "to": "102", "result": "answered_elsewhere"}]


def _group_gave_up():
    call, seq = calls.caller_hangs_up_in_group()
    base = {"type": "call.ended", "call_id": call.linkedid, "started_at": at(0), "ended_at": at(6),
            "ring_seconds": 6, "direction": "external", "routing": "group", "from": "+79023855270",
            "line": "74951234568", "result": "caller_hangup"}
    return seq, [{**base, "id": f"asterisk:{call.linkedid}:101", "to": "101"},
                 {**base, "id": f"asterisk:{call.linkedid}:102", "to": "102"}]


def _queue():
    call, seq = calls.queue_answered_by_colleague()
    base = {"type": "call.ended", "call_id": call.linkedid, "started_at": at(1), "ended_at": at(12),
            "ring_seconds": 11, "direction": "external", "routing": "group", "from": "89023855270",
            "line": "74951234569"}
    return seq, [{**base, "id": f"asterisk:{call.linkedid}:103", "to": "103", "result": "answered"},
                 {**base, "id": f"asterisk:{call.linkedid}:102", "to": "102", "result": "answered_elsewhere"}]


def _queue_timeout():
    call, seq = calls.queue_ring_timed_out()
    return seq, [{"id": f"asterisk:{call.linkedid}:102", "type": "call.ended", "call_id": call.linkedid,
                  "started_at": at(1), "ended_at": at(16), "ring_seconds": 15, "direction": "external",
                  "routing": "group", "from": "+79023855270", "to": "102", "line": "74951234569",
                  "result": "no_answer"}]


def _outgoing():
    call, seq = calls.outgoing_answered()
    return seq, [{"id": f"asterisk:{call.linkedid}:89023855270", "type": "call.ended", "call_id": call.linkedid,
                  "started_at": at(1), "ended_at": at(8), "ring_seconds": 7, "direction": "outgoing",
                  "from": "102", "to": "89023855270", "result": "answered"}]


def _cacofonisk_cancel():
    seq = [(0, e) for e in calls.CACOFONISK_AB_A_CANCEL]
    linkedid = "195176c06ab8-1529936141.21"
    return seq, [{"id": f"asterisk:{linkedid}:202", "type": "call.ended", "call_id": linkedid,
                  "started_at": at(0), "ended_at": at(0), "ring_seconds": 0, "direction": "internal",
                  "from": "201", "to": "202", "result": "caller_hangup"}]


CASES = {
    "direct ring timed out": _direct("NOANSWER", "no_answer"),
    "caller hung up while it rang": _direct("CANCEL", "caller_hangup"),
    "direct ring, phone busy": _direct("BUSY", "busy"),
    "direct ring, phone not registered": _direct("CHANUNAVAIL", "unavailable"),
    "direct ring answered": _direct("ANSWER", "answered"),
    "internal call unanswered": _internal(),
    "ring group answered by a colleague": _group(),
    "ring group, the caller gave up": _group_gave_up(),
    "queue answered by a colleague (Local/ members)": _queue(),
    "queue: the member's ring timed out, the caller gave up waiting": _queue_timeout(),
    "outgoing call through the trunk": _outgoing(),
    "real capture: caller hangs up, via a Local channel (cacofonisk ab_a_cancel)": _cacofonisk_cancel(),
}


@pytest.mark.parametrize("sequence, expected", CASES.values(), ids=CASES.keys())
def test_call_translation(sequence, expected):
    made, state = play(sequence)
    assert sorted(made, key=lambda e: e["id"]) == sorted(expected, key=lambda e: e["id"])
    assert state["done"]
    for event in made:
        parse_event(event)  # what the intake will check


@pytest.mark.parametrize("sequence, expected", CASES.values(), ids=CASES.keys())
def test_a_restart_mid_call_changes_nothing(sequence, expected):
    """The state as Redis keeps it (JSON) between every two events: the same events, once."""
    made, _ = play(sequence, roundtrip=True)
    assert sorted(e["id"] for e in made) == sorted(e["id"] for e in expected)


@pytest.mark.parametrize("sequence, expected", CASES.values(), ids=CASES.keys())
def test_events_after_the_end_and_replays_make_nothing(sequence, expected):
    _made, state = play(sequence)
    again, state = play(sequence, state)  # AMI events seen twice (a replay after reconnecting)
    assert again == [] and state["done"]


def test_every_event_seen_twice_gives_the_same_call():
    _, seq = calls.group_answered_elsewhere()
    doubled = [pair for pair in seq for _ in range(2)]
    made, _ = play(doubled)
    assert {e["to"]: e["result"] for e in made} == {"101": "answered", "102": "answered_elsewhere"}


def test_a_call_seen_only_from_its_middle():
    """The worker started while the call rang: translated from what is seen after."""
    _call, seq = calls.direct_no_answer()
    made, _ = play(seq[3:])  # from the DialEnd on
    assert [(e["to"], e["result"], e["routing"]) for e in made] == [("102", "no_answer", "direct")]


def test_a_leg_whose_end_was_not_seen_makes_no_event():
    _call, seq = calls.direct_no_answer()
    without_dialend = [pair for pair in seq if pair[1]["Event"] != "DialEnd"]
    made, state = play(without_dialend)
    assert made == [] and state["done"]


def test_a_call_whose_channels_are_gone_is_closed_from_what_was_seen():
    _call, seq = calls.direct_no_answer()
    _, state = play(seq[:4])  # up to DialEnd NOANSWER; the Hangups were missed
    state, made = asterisk.close_unseen(state)
    assert [(e["to"], e["result"]) for e in made] == [("102", "no_answer")] and state["done"]
    assert asterisk.close_unseen(state) == (state, [])


def test_a_hangup_of_an_unknown_call_keeps_no_state():
    _call, seq = calls.direct_no_answer()
    assert asterisk.apply(None, seq[-1][1], T0) == (None, [])


def test_events_of_no_call_are_ignored():
    for event in ({"Event": "FullyBooted"}, {"Event": "Newstate", "Linkedid": "1.1", "Uniqueid": "1.1"},
                  {"Event": "DialEnd", "Linkedid": "", "DialStatus": "NOANSWER"}):
        assert asterisk.call_key(event) is None
        assert asterisk.apply(None, event, T0) == (None, [])


def test_a_hidden_caller_is_an_empty_from():
    caller = calls.Ch("PJSIP/rt-trunk-00000070", "1764054903.700", "anonymous", "74951234567", "from-pstn")
    made, _ = play(calls.direct_no_answer(caller)[1])
    assert made[0]["from"] == "" and made[0]["result"] == "no_answer"
    parse_event(made[0])


# --------------------------------------------------------------------------- voicemail

CALLER = calls.Ch("PJSIP/rt-trunk-00000012", "1764054903.101", "+79023855270", "74951234567", "from-pstn")


def test_a_message_left_by_the_caller_is_a_voicemail():
    event = calls.message_waiting("102@default", new=1, old=3, ch=CALLER)
    vm = asterisk.voicemail(event, previous_new=0, at=T0)
    assert vm == {"id": "asterisk:1764054903.101:102:vm", "type": "voicemail.received",
                  "call_id": "1764054903.101", "started_at": T0.isoformat(), "from": "+79023855270", "to": "102"}
    parse_event(vm)
    assert asterisk.voicemail(event, previous_new=None, at=T0)["id"] == vm["id"]  # count not known yet


@pytest.mark.parametrize("event, previous", [
    (calls.message_waiting("102@default", new=0, old=4, ch=CALLER), 1),  # read: fewer new ones
    (calls.message_waiting("102@default", new=2, old=0, ch=CALLER), 2),  # no more than before
    (calls.message_waiting("102@default", new=1, old=0), 0),  # no channel: Asterisk before 16.24 (no caller)
    (calls.message_waiting("102@default", new=1, old=0,
                           ch=calls.Ch("PJSIP/102-00000080", "1764054903.800", "102", "*97")), 0),  # the owner
    (calls.message_waiting("@default", new=1, ch=CALLER), 0),
])
def test_other_message_waiting_events_are_no_voicemail(event, previous):
    assert asterisk.voicemail(event, previous, T0) is None


# --------------------------------------------------------------------------- the address

def test_the_ami_url():
    target = asterisk.parse_url("ami://notifier:p%40ss:w0rd@pbx.local:5039")
    assert (target.host, target.port, target.username, target.secret) == ("pbx.local", 5039, "notifier", "p@ss:w0rd")
    assert asterisk.parse_url("ami://u:s@10.0.0.5").port == 5038
    assert "p@ss" not in str(target) and "p@ss" not in repr(target)


@pytest.mark.parametrize("url", ["", "http://u:s@pbx:5038", "ami://pbx.local:5038", "ami://u@pbx:5038",
                                 "ami://u:s@pbx:99999", "ami://u:s@pbx:5038/x", "ami://u:s%0A@pbx"])
def test_bad_ami_urls(url):
    with pytest.raises(ValueError) as err:
        asterisk.parse_url(url)
    assert "s%0A" not in str(err.value)


# --------------------------------------------------------------------------- the wire protocol

def test_login_and_events_over_the_wire():
    with FakeAmi() as server:
        conn = ami.Connection.open("127.0.0.1", server.port)
        assert conn.banner.startswith("Asterisk Call Manager/")
        assert conn.login("notifier", "s3cret-ami") == "Authentication accepted"
        assert server.actions[-1]["Events"] == "on" and server.actions[-1]["Action"] == "Login"
        assert conn.read(5)["Event"] == "FullyBooted"
        server.send({"Event": "DialEnd", "DialStatus": "NOANSWER", "ChanVariable": "A=1"},
                    {"Event": "Hangup", "Cause-txt": "User alerting: no answer"})
        assert conn.read(5) == {"Event": "DialEnd", "DialStatus": "NOANSWER", "ChanVariable": "A=1"}
        assert conn.read(5)["Cause-txt"] == "User alerting: no answer"
        assert conn.read(0.2) is None  # nothing more: a timeout, not an error
        server.drop()
        with pytest.raises(ami.ConnectionLost):
            conn.read(5)
        conn.close()


def test_a_refused_login():
    with FakeAmi() as server:
        conn = ami.Connection.open("127.0.0.1", server.port)
        with pytest.raises(ami.AuthFailed) as err:
            conn.login("notifier", "wrong")
        assert "Authentication failed" in str(err.value) and "wrong" not in str(err.value)
        conn.close()


def test_check_says_what_happened():
    with FakeAmi() as server:
        ok, text = ami.check("127.0.0.1", server.port, "notifier", "s3cret-ami")
        assert ok and "вход как notifier выполнен" in text
        assert server.actions[-1]["Action"] == "Logoff" and server.actions[-2]["Events"] == "off"
        ok, text = ami.check("127.0.0.1", server.port, "notifier", "nope")
        assert not ok and text.startswith("Неверное имя или пароль AMI") and "nope" not in text
        port = server.port
    ok, text = ami.check("127.0.0.1", port, "notifier", "s3cret-ami", timeout=2)
    assert not ok and text.startswith("не удалось подключиться к 127.0.0.1")


def test_a_server_that_is_not_ami():
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        sock, _ = listener.accept()
        sock.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    with pytest.raises(ami.AmiError) as err:
        ami.Connection.open("127.0.0.1", listener.getsockname()[1], timeout=5)
    assert "не AMI" in str(err.value)
    listener.close()


# --------------------------------------------------------------------------- odd input

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from .pbx_helpers import fuzz  # noqa: E402

FIELD_NAMES = ["Event", "Channel", "Uniqueid", "Linkedid", "CallerIDNum", "Exten", "DestChannel", "DestUniqueid",
               "DestCallerIDNum", "DialString", "DialStatus", "Queue", "Mailbox", "New", "Old"]
ami_values = st.one_of(
    st.sampled_from(["DialBegin", "DialEnd", "Hangup", "Newchannel", "AgentCalled", "AgentConnect", "MessageWaiting",
                     "NOANSWER", "CANCEL", "ANSWER", "BUSY", "GOTO:x", "Local/102@from-queue-0001;1",
                     "PJSIP/102-0001", "1764054903.1", "1764054903.2", "102", "+79023855270", "<unknown>",
                     "102@default", "-1", "1", ""]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30),
)
ami_events = st.dictionaries(st.sampled_from(FIELD_NAMES), ami_values, max_size=len(FIELD_NAMES))


@fuzz(300)
@given(sequence=st.lists(ami_events, max_size=25), previous=st.one_of(st.none(), st.integers(-5, 5)))
def test_odd_ami_events_never_break_the_translation(sequence, previous):
    """Whatever Asterisk (or a broken peer) sends: no exception, and every event made is valid."""
    states: dict[str, dict | None] = {}
    for event in sequence:
        key = asterisk.call_key(event)
        state, made = asterisk.apply(states.get(key), event, T0)
        states[key] = json.loads(json.dumps(state))
        vm = asterisk.voicemail(event, previous, T0)
        for one in made + ([vm] if vm else []):
            parse_event(one)
            assert one["id"].startswith("asterisk:")
    for state in states.values():
        if state is not None:
            for one in asterisk.finish(state):
                parse_event(one)


@fuzz(200)
@given(raw=st.binary(max_size=300))
def test_odd_bytes_on_the_wire_parse_to_dicts(raw):
    message = ami.parse(raw.decode("utf-8", "replace"))
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in message.items())
