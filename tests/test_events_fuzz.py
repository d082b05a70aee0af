"""Hypothesis against POST /api/v1/events: thousands of random and malformed
bodies and headers, never a 5xx; whatever is accepted can also be processed."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from notifier.core.events import DIRECTIONS, EVENT_TYPES, RESULTS, ROUTINGS
from notifier.extensions import db
from notifier.models import Decision, Event
from notifier.pipeline.processing import process_event

from .conftest import WEBHOOK_SECRET
from .webhook_signing import example, signed_headers


def fuzz(examples: int):
    """Deterministic (CI-stable) runs. With tests/test_api_fuzz.py some 5,000
    requests in all (one per example), about half a minute on SQLite."""
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


URL = "/api/v1/events"
ALLOWED = {200, 202, 400, 401, 413, 415, 422}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
# JSON nested up to past Python's recursion limit (it once made a 500): closed
# or not, arrays or objects, alone or as a field's value.
deep_json = st.builds(
    lambda depth, shape, closed: shape[0] * depth + shape[1] + (shape[2] * depth if closed else ""),
    st.one_of(st.integers(1, 100), st.integers(900, 1100), st.integers(4000, 6000)),
    st.sampled_from([("[", "", "]"), ('{"a":', "1", "}"), ('[{"id":', "2147483648", "}]")]),
    st.booleans(),
)
deep_field = st.builds(lambda key, inner: '{"%s": %s}' % (key, inner), st.sampled_from(["id", "name", "from", "ids"]),
                       deep_json)
# Integers at and past the database's integer range (ids, counts).
edge_ints = st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, -2**63 - 1, 10**30, -10**30])
phone_like = st.from_regex(r"\A[+8 ()\-0-9a-z*#]{0,24}\Z")
time_like = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?\Z"),
)
field_values = st.one_of(
    json_values, phone_like, time_like, edge_ints,
    st.sampled_from(EVENT_TYPES + DIRECTIONS + ROUTINGS + RESULTS + ("anonymous", "", "101", "102")),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
)
FIELDS = ["id", "type", "call_id", "started_at", "ended_at", "direction", "from", "to", "line",
          "routing", "result", "ring_seconds", "duration_seconds", "recording_url", "extra"]
BASES = ["missed-internal", "missed-external-direct", "caller-hung-up", "voicemail"]
latin1 = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=60)


def _post(client, body: bytes, headers: dict):
    resp = client.post(URL, data=body, headers=headers)
    assert resp.status_code in ALLOWED, (resp.status_code, body[:200], headers)
    event(f"status {resp.status_code}")
    data = resp.get_json()
    assert isinstance(data, dict) and ("error" in data or "errors" in data or "status" in data)
    return resp


@fuzz(1000)
@given(base=st.sampled_from(BASES), changes=st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=4),
       drop=st.sets(st.sampled_from(FIELDS), max_size=3), unique=st.integers(0, 10**12))
def test_signed_mutated_events(app, client, base, changes, drop, unique):
    """Correctly signed, so every body reaches the JSON and field checks."""
    payload = dict(example(base), id=f"fz-{unique}")
    payload.update(changes)
    for key in drop:
        payload.pop(key, None)
    body = json.dumps(payload).encode()
    resp = _post(client, body, signed_headers(body, WEBHOOK_SECRET))
    if resp.status_code == 422:
        assert resp.get_json()["errors"] and all(isinstance(v, str) for v in resp.get_json()["errors"].values())
    if resp.status_code == 202:  # what was promised can be judged
        pk = db.session.scalar(select(Event.id).where(Event.event_id == payload["id"]))
        process_event(pk)
        assert db.session.scalar(select(Decision.reason).where(Decision.event_id == pk))


@fuzz(1000)
@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                      st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
                      deep_json.map(str.encode), deep_field.map(str.encode)))
def test_signed_random_bodies(client, body):
    try:
        headers = signed_headers(body, WEBHOOK_SECRET)
    except UnicodeDecodeError:
        headers = signed_headers(b"{}", WEBHOOK_SECRET)
    _post(client, body, headers)


@fuzz(500)
@given(msg_id=st.one_of(st.none(), latin1), timestamp=st.one_of(st.none(), latin1, st.integers().map(str)),
       signature=st.one_of(st.none(), latin1, st.lists(st.from_regex(r"\Av\d?,[A-Za-z0-9+/=]{0,50}\Z"), max_size=3)
                           .map(" ".join)),
       content_type=st.one_of(st.just("application/json"), st.just("application/json; charset=utf-8"),
                              st.none(), latin1),
       length_ok=st.integers(0, 9).map(bool))
def test_random_headers(client, msg_id, timestamp, signature, content_type, length_ok):
    body = json.dumps(example("missed-internal")).encode() if length_ok else b"x" * (64 * 1024 + 1)
    headers = {}
    for name, value in (("webhook-id", msg_id), ("webhook-timestamp", timestamp),
                        ("webhook-signature", signature), ("Content-Type", content_type)):
        if value is not None:
            headers[name] = value
    resp = _post(client, body, headers)
    assert resp.status_code != 202  # never accepted without a valid signature

