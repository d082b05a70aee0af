"""Webhook body validation: contract examples, one invalid row per field, fuzzing."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.core.events import (
    EARLIEST,
    FUTURE_SLACK,
    TIME_RANGE_ERROR,
    CallEvent,
    parse_event,
    parse_rfc3339,
)
from notifier.core.fielderrors import FieldErrors
from tests.webhook_signing import EXAMPLES

MSK = timezone(timedelta(hours=3))

CALL = {
    "id": "evt-1", "type": "call.ended", "call_id": "call-1",
    "started_at": "2026-11-25T10:15:03+03:00", "ended_at": "2026-11-25T10:15:33+03:00",
    "direction": "external", "from": "+7 902 385-52-70", "to": "102",
    "line": "+7 495 123-45-67", "routing": "direct", "result": "no_answer", "ring_seconds": 30,
}
VOICEMAIL = {
    "id": "evt-2", "type": "voicemail.received", "started_at": "2026-11-25T21:05:12Z",
    "from": "anonymous", "to": "8 (902) 385 52 80", "duration_seconds": 17,
    "recording_url": "https://pbx.example.net/vm/1.ogg",
}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_contract_examples_parse(path):
    body = json.loads(path.read_text())
    event = parse_event(body)
    assert event.id == body["id"] and event.type == body["type"]
    assert event.started_at.utcoffset() is not None


def test_full_call_event():
    assert parse_event({**CALL, "unknown": {"x": 1}}) == CallEvent(
        id="evt-1", type="call.ended", call_id="call-1",
        started_at=datetime(2026, 11, 25, 10, 15, 3, tzinfo=MSK),
        ended_at=datetime(2026, 11, 25, 10, 15, 33, tzinfo=MSK),
        direction="external", caller_raw="+7 902 385-52-70", caller="+79023855270",
        callee_raw="102", callee="102", line="+7 495 123-45-67", routing="direct",
        result="no_answer", ring_seconds=30,
    )


def test_full_voicemail_event_ignores_call_fields():
    event = parse_event({**VOICEMAIL, "result": "bogus", "direction": 5, "ring_seconds": -1})
    assert event == CallEvent(
        id="evt-2", type="voicemail.received",
        started_at=datetime(2026, 11, 25, 21, 5, 12, tzinfo=timezone.utc),
        caller_raw="anonymous", caller=None, callee_raw="8 (902) 385 52 80", callee="+79023855280",
        duration_seconds=17, recording_url="https://pbx.example.net/vm/1.ogg",
    )
    assert event.is_hidden_caller and event.is_voicemail


@pytest.mark.parametrize("changes, field", [
    ({"routing": None, "direction": "internal"}, None),   # routing only for external
    ({"routing": "group"}, None),
    ({"from": ""}, None), ({"from": "Anonymous"}, None),  # hidden callers
    ({"from": "89023855270"}, None), ({"from": "101"}, None),
    ({"call_id": None, "ended_at": None, "line": None, "ring_seconds": None}, None),
    ({"ring_seconds": 0}, None),
    ({"started_at": "2026-11-25t07:15:03.123456789z", "ended_at": None}, None),
    ({"started_at": "2026-11-25 10:15:03.5+03:00"}, None),
    ({"id": "x" * 128}, None),
    ({"direction": "outgoing", "from": "102", "to": "+7 902 385-52-70", "routing": None}, None),
    ({"direction": "outgoing", "from": "102", "to": "89023855270", "result": "answered"}, None),
])
def test_valid_variants(changes, field):
    parse_event({**CALL, **changes})


@pytest.mark.parametrize("changes, field", [
    ({"id": None}, "id"), ({"id": ""}, "id"), ({"id": "x" * 129}, "id"), ({"id": 7}, "id"),
    ({"id": "a\nb"}, "id"), ({"id": "   "}, "id"),
    ({"type": None}, "type"), ({"type": "call.started"}, "type"), ({"type": ["call.ended"]}, "type"),
    ({"call_id": 12}, "call_id"), ({"call_id": ""}, "call_id"),
    ({"started_at": None}, "started_at"),
    ({"started_at": "2026-11-25T10:15:03"}, "started_at"),          # naive
    ({"started_at": "2026-11-25"}, "started_at"),
    ({"started_at": "2026-02-30T10:00:00+03:00"}, "started_at"),
    ({"started_at": "2026-11-25T24:00:00+03:00"}, "started_at"),
    ({"started_at": "2026-11-25T10:15:03+24:00"}, "started_at"),
    ({"started_at": "2026-11-25T10:15:03+0300"}, "started_at"),
    ({"started_at": 1764054903}, "started_at"),
    ({"ended_at": "yesterday"}, "ended_at"),
    ({"ended_at": "2026-11-25T10:15:02+03:00"}, "ended_at"),         # before started_at
    ({"direction": None}, "direction"), ({"direction": "inbound"}, "direction"),
    ({"from": None}, "from"), ({"from": "abc"}, "from"), ({"from": 79023855270}, "from"),
    ({"from": "385-52-70"}, "from"), ({"from": "1" * 100}, "from"),
    ({"to": None}, "to"), ({"to": ""}, "to"), ({"to": "anonymous"}, "to"), ({"to": "x"}, "to"),
    ({"line": 74951234567}, "line"), ({"line": "1" * 65}, "line"),
    ({"routing": None}, "routing"), ({"routing": "queue"}, "routing"),
    ({"routing": "queue", "direction": "internal"}, "routing"),
    ({"routing": "queue", "direction": "outgoing"}, "routing"),
    ({"direction": "outgoing", "to": "anonymous"}, "to"), ({"direction": "Outgoing"}, "direction"),
    ({"result": None}, "result"), ({"result": "missed"}, "result"), ({"result": True}, "result"),
    ({"ring_seconds": -1}, "ring_seconds"), ({"ring_seconds": 2.5}, "ring_seconds"),
    ({"ring_seconds": 25.0}, "ring_seconds"), ({"ring_seconds": True}, "ring_seconds"),
    ({"ring_seconds": "25"}, "ring_seconds"), ({"ring_seconds": 2**31}, "ring_seconds"),
])
def test_invalid_call_field(changes, field):
    with pytest.raises(FieldErrors) as info:
        parse_event({**CALL, **changes})
    assert set(info.value.errors) == {field}


@pytest.mark.parametrize("changes, field", [
    ({"duration_seconds": -5}, "duration_seconds"), ({"duration_seconds": False}, "duration_seconds"),
    ({"recording_url": "ftp://pbx/vm.ogg"}, "recording_url"),
    ({"recording_url": "file:///etc/passwd"}, "recording_url"),
    ({"recording_url": "https://"}, "recording_url"),
    ({"recording_url": "http://[::1"}, "recording_url"),
    ({"recording_url": "http://pbx:99999/vm.ogg"}, "recording_url"),
    ({"recording_url": "http://pbx/a b.ogg"}, "recording_url"),
    ({"recording_url": "javascript:alert(1)"}, "recording_url"),
    ({"recording_url": 5}, "recording_url"),
    ({"to": "anonymous"}, "to"),
])
def test_invalid_voicemail_field(changes, field):
    with pytest.raises(FieldErrors) as info:
        parse_event({**VOICEMAIL, **changes})
    assert set(info.value.errors) == {field}


@pytest.mark.parametrize("body", [None, [], "x", 5, [CALL]])
def test_not_an_object(body):
    with pytest.raises(FieldErrors) as info:
        parse_event(body)
    assert set(info.value.errors) == {"body"}


def test_all_errors_at_once():
    with pytest.raises(FieldErrors) as info:
        parse_event({"type": "call.ended", "direction": "external"})
    assert set(info.value.errors) == {"id", "started_at", "from", "to", "routing", "result"}


def test_unknown_type_still_checks_common_fields():
    with pytest.raises(FieldErrors) as info:
        parse_event({"type": "sms", "to": "102"})
    assert set(info.value.errors) == {"id", "type", "started_at", "from"}


NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("field, text, ok", [
    ("started_at", "9999-12-31T23:59:59Z", False),
    ("started_at", "0001-01-01T00:00:00+23:59", False),      # out of range once in UTC
    ("started_at", "9999-12-31T23:59:59-23:59", False),
    ("started_at", "0001-01-01T00:00:00Z", False),
    ("started_at", "1970-01-01T00:00:00Z", False),           # a clock that was never set
    ("started_at", "1999-12-31T23:59:59Z", False),
    ("started_at", "2000-01-01T00:00:00Z", True),
    ("started_at", "2000-01-01T02:59:59+03:00", False),      # still 1999 in UTC
    ("started_at", "2000-01-01T00:00:00-05:00", True),
    ("started_at", "2026-12-03T12:00:00Z", True),            # now + one day
    ("started_at", "2026-12-03T12:00:00.000001Z", False),
    ("started_at", "2026-12-03T23:59:00+11:59", True),       # the same moment, written far east
    ("started_at", "2026-12-04T00:00:00+11:59", False),
    ("started_at", "2099-01-01T00:00:00Z", False),
    ("ended_at", "9999-12-31T23:59:59Z", False),
    ("ended_at", "0001-01-01T00:00:00+23:59", False),
    ("ended_at", "2026-12-03T11:00:00Z", True),
])
def test_times_must_be_plausible(field, text, ok):
    body = {**CALL, "started_at": "2000-01-01T00:00:00Z", "ended_at": None, field: text}
    if ok:
        assert getattr(parse_event(body, NOW), field) == parse_rfc3339(text)
    else:
        with pytest.raises(FieldErrors) as info:
            parse_event(body, NOW)
        assert info.value.errors == {field: TIME_RANGE_ERROR}


def test_without_now_only_the_lower_bound_applies():
    """Processing reads again a body the intake accepted; the clock only moves on."""
    assert parse_event({**CALL, "started_at": "2099-01-01T00:00:00Z", "ended_at": None}).started_at.year == 2099
    with pytest.raises(FieldErrors):
        parse_event({**CALL, "started_at": "1999-01-01T00:00:00Z", "ended_at": None})


@pytest.mark.parametrize("text, expected", [
    ("2026-11-25T10:15:03+03:00", datetime(2026, 11, 25, 10, 15, 3, tzinfo=MSK)),
    ("2026-11-25T07:15:03Z", datetime(2026, 11, 25, 7, 15, 3, tzinfo=timezone.utc)),
    ("2026-11-25T07:15:03.25-00:00", datetime(2026, 11, 25, 7, 15, 3, 250000, tzinfo=timezone.utc)),
    ("2026-11-25T07:15:03", None), ("2026-11-25T07:15Z", None), ("2026-11-25T07:15:60Z", None),
    ("２０２６-11-25T07:15:03Z", None), (None, None),
])
def test_parse_rfc3339(text, expected):
    assert parse_rfc3339(text) == expected


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=15,
)
PLAUSIBLE = {
    "id": st.text(min_size=0, max_size=130),
    "type": st.sampled_from(["call.ended", "voicemail.received", "x"]),
    "started_at": st.one_of(st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat()),
                            st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=30),
                            st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=23, minutes=59)),
                                                                   timezone(-timedelta(hours=23, minutes=59))]))
                            .map(lambda d: d.isoformat())),
    "ended_at": st.datetimes(timezones=st.just(MSK)).map(lambda d: d.isoformat()),
    "direction": st.sampled_from(["internal", "external", "outgoing", "x"]),
    "from": st.one_of(st.text(max_size=20), st.from_regex(r"\+?[0-9 ()\-]{0,20}", fullmatch=True)),
    "to": st.one_of(st.text(max_size=20), st.from_regex(r"[0-9]{1,12}", fullmatch=True)),
    "routing": st.sampled_from(["direct", "group", "x"]),
    "result": st.sampled_from(["no_answer", "answered", "caller_hangup", "x"]),
    "ring_seconds": st.integers(), "duration_seconds": st.integers(),
    "recording_url": st.one_of(st.text(max_size=30), st.just("http://a/b.ogg")),
    "line": st.text(max_size=70), "call_id": st.text(max_size=10),
}
KEYED = st.fixed_dictionaries({}, optional={k: st.one_of(JSON, v) for k, v in PLAUSIBLE.items()})
# A valid body with a few fields replaced by random values: reaches the deeper checks.
MUTATED = st.builds(
    lambda base, changes: {**base, **changes},
    st.sampled_from([CALL, VOICEMAIL]),
    st.fixed_dictionaries({}, optional={k: st.one_of(JSON, v) for k, v in PLAUSIBLE.items()
                                        if k not in ("id", "type")}),
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(JSON, KEYED, MUTATED))
def test_fuzz_only_event_error(body):
    try:
        event = parse_event(body, NOW)
    except FieldErrors as exc:
        assert exc.errors and all(isinstance(v, str) and v for v in exc.errors.values())
    else:
        assert event.started_at.utcoffset() is not None
        assert EARLIEST <= event.started_at <= NOW + FUTURE_SLACK
        assert event.callee is not None


@pytest.mark.parametrize("raw, caller_raw, caller", [
    ("+7 902\u200b 385-52-70", "+7 902 385-52-70", "+79023855270"),
    ("\u202e101", "101", "101"),
    ("anonymous\u202eИванов", "anonymousИванов", None),
    ("\ufeff", "", None),
])
def test_numbers_drop_format_characters(raw, caller_raw, caller):
    event = parse_event({**CALL, "from": raw, "to": "1\u200b02"})
    assert (event.caller_raw, event.caller, event.callee_raw, event.callee) == (caller_raw, caller, "102", "102")


@pytest.mark.parametrize("field", ["id", "call_id", "line"])
def test_other_text_with_format_characters_is_refused(field):
    with pytest.raises(FieldErrors) as err:
        parse_event({**CALL, field: "x\u202ey"})
    assert field in err.value.errors
