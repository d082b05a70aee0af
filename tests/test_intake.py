"""POST /api/v1/events: every status of the contract, the signature variants,
idempotency (also under concurrency) and the outbox promise when Redis is down."""
from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta

import pytest
import requests
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.models import Decision, Event, utcnow
from notifier.pipeline import outbox
from notifier.pipeline.intake import MAX_BODY, well_formed_signatures
from notifier.runtime.embedded_redis import EmbeddedRedis
from notifier.runtime.redis_conn import get_redis

from .conftest import WEBHOOK_SECRET
from .webhook_signing import example, post_event, signed_headers

URL = "/api/v1/events"
OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LW9mLXRoZS1zYW1lLWxlbmd0aA=="


def body_of(payload) -> bytes:
    return json.dumps(payload).encode()


def post_raw(client, body: bytes, headers: dict):
    return client.post(URL, data=body, headers=headers)


def count_events() -> int:
    return db.session.scalar(select(func.count()).select_from(Event))


def queued_job_ids(app) -> list[str]:
    return Queue("default", connection=get_redis()).job_ids


# --------------------------------------------------------------------------- accepted / duplicate

def test_signed_event_is_stored_then_queued(app, client):
    resp = post_event(client, example("missed-external-direct"))
    assert resp.status_code == 202
    assert resp.get_json() == {"id": "evt-0002", "status": "accepted"}
    event = db.session.scalar(select(Event))
    assert event.event_id == "evt-0002" and event.type == "call.ended"
    assert event.caller == "+7 902 385-52-70" and event.caller_key == "+79023855270"
    assert event.callee_key == "102" and event.result == "no_answer" and event.call_id == "call-7002"
    assert event.started_at.isoformat() == "2026-11-28T09:01:40+00:00"
    assert event.payload == example("missed-external-direct")
    assert event.queued_at is not None and event.processed_at is None
    pk = event.id
    assert queued_job_ids(app) == [f"event-{pk}"]


def test_unlisted_fields_are_not_stored(app, client):
    payload = dict(example("voicemail"), vendor={"deep": [1, 2, {"x": "y"}]}, result="busy")
    assert post_event(client, payload).status_code == 202
    assert db.session.scalar(select(Event.payload)) == example("voicemail")


def test_duplicate_answers_200_and_changes_nothing(app, client):
    assert post_event(client, example("missed-internal")).status_code == 202
    again = post_event(client, example("missed-internal"))
    assert again.status_code == 200
    assert again.get_json() == {"id": "evt-0001", "status": "duplicate"}
    assert count_events() == 1
    assert len(queued_job_ids(app)) == 1


def test_intake_runs_one_statement_per_event(app, client):
    """The hot path: one INSERT (and its commit); a duplicate costs the same failed INSERT."""
    from sqlalchemy import event as sa_event

    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.split()[0].upper())

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert post_event(client, example("missed-external-direct")).status_code == 202
        assert seen == ["INSERT"]
        assert post_event(client, example("missed-external-direct")).status_code == 200
        assert seen == ["INSERT", "INSERT"]
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)


def test_concurrent_duplicates_make_one_event(app, live_server):
    """Eight copies of one event at the same moment through a threaded server."""
    body = body_of(example("missed-internal"))
    start = threading.Barrier(8)
    statuses: list[int] = []

    def post():
        headers = signed_headers(body, WEBHOOK_SECRET)
        start.wait()
        statuses.append(requests.post(live_server.url + URL, data=body, headers=headers, timeout=30).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 7 + [202]
    assert count_events() == 1
    assert len(queued_job_ids(app)) == 1


def test_parallel_distinct_events_are_all_accepted(app, live_server):
    """Four senders at once, 25 events each: every one stored and queued, no 5xx."""
    statuses: list[int] = []

    def sender(n: int):
        with requests.Session() as http:
            for i in range(25):
                body = body_of(dict(example("missed-external-direct"), id=f"par-{n}-{i}"))
                resp = http.post(live_server.url + URL, data=body, headers=signed_headers(body, WEBHOOK_SECRET),
                                 timeout=30)
                statuses.append(resp.status_code)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [202] * 100
    assert count_events() == 100
    assert len(queued_job_ids(app)) == 100


# --------------------------------------------------------------------------- signature (401)

def test_several_v1_signatures_one_matching_is_enough(client):
    body = body_of(example("missed-internal"))
    headers = signed_headers(body, WEBHOOK_SECRET)
    wrong = signed_headers(body, OTHER_SECRET, msg_id=headers["webhook-id"],
                           timestamp=int(headers["webhook-timestamp"]))["webhook-signature"]
    headers["webhook-signature"] = f"v2,abc {wrong} {headers['webhook-signature']}"
    assert post_raw(client, body, headers).status_code == 202


@pytest.mark.parametrize("header", [
    "v1,bad {valid}",
    "{valid} v1,bad",
    "v1,bad   {valid}",                 # extra spaces
    "v1,bad\t{valid}",
    "v2,abc {valid}",                   # an unknown version
    "v1 {valid}",                       # no comma
    "v1,!!!not-base64!!! {valid}",
    "v1,AAAA {valid}",                  # base64, but not 32 bytes
    "v1,{valid_b64},extra {valid}",
    "v1,Ωmega {valid}",                 # not ASCII
    "v1,{other} v1,bad {valid}",        # a wrong secret's signature, then garbage, then the match
    "v1,{valid_unpadded}",
    "v1,{valid_b64}=",
])
def test_a_malformed_entry_does_not_hide_a_matching_one(app, client, header):
    """The contract: one matching v1 entry is enough (issue 12, item 9)."""
    body = body_of(example("missed-internal"))
    headers = signed_headers(body, WEBHOOK_SECRET)
    valid = headers["webhook-signature"]
    other = signed_headers(body, OTHER_SECRET, msg_id=headers["webhook-id"],
                           timestamp=int(headers["webhook-timestamp"]))["webhook-signature"]
    headers["webhook-signature"] = header.format(
        valid=valid, valid_b64=valid.split(",", 1)[1], valid_unpadded=valid.split(",", 1)[1].rstrip("="),
        other=other.split(",", 1)[1])
    resp = post_raw(client, body, headers)
    assert resp.status_code == 202, resp.get_data(as_text=True)


@pytest.mark.parametrize("header", [
    "v1,bad v1,AAAA", "v1a,{valid_b64}", "V1,{valid_b64}", "v1,{other} v1,bad", "v1;{valid_b64}",
    "{valid_b64}", "v1,=",
])
def test_no_matching_well_formed_entry_is_401(app, client, header):
    body = body_of(example("missed-internal"))
    headers = signed_headers(body, WEBHOOK_SECRET)
    valid = headers["webhook-signature"]
    other = signed_headers(body, OTHER_SECRET, msg_id=headers["webhook-id"],
                           timestamp=int(headers["webhook-timestamp"]))["webhook-signature"]
    headers["webhook-signature"] = header.format(valid_b64=valid.split(",", 1)[1], other=other.split(",", 1)[1])
    resp = post_raw(client, body, headers)
    assert resp.status_code == 401 and resp.get_json()["error"]
    assert count_events() == 0


def test_entries_are_read_one_by_one():
    sig = "A" * 43 + "="
    assert well_formed_signatures(f"v1,x  v1,{sig}\tv2,{sig} v1,{sig.rstrip('=')} v1,AAAA") == f"v1,{sig} v1,{sig}"
    assert well_formed_signatures("v1,bad v1 ,") == ""


@pytest.mark.parametrize("case", [
    "no_headers", "no_id", "no_timestamp", "no_signature", "wrong_secret", "stale", "future",
    "other_body", "other_id", "v2_only", "garbage_signature", "no_comma", "not_base64", "bad_timestamp",
])
def test_bad_signatures_answer_401(app, client, case):
    body = body_of(example("missed-internal"))
    headers = signed_headers(body, WEBHOOK_SECRET)
    sig = headers["webhook-signature"]
    if case == "no_headers":
        headers = {"Content-Type": "application/json"}
    elif case.startswith("no_") and case != "no_comma":
        del headers["webhook-" + case[3:]]
    elif case == "wrong_secret":
        headers = signed_headers(body, OTHER_SECRET)
    elif case == "stale":
        headers = signed_headers(body, WEBHOOK_SECRET, timestamp=time.time() - 6 * 60)
    elif case == "future":
        headers = signed_headers(body, WEBHOOK_SECRET, timestamp=time.time() + 6 * 60)
    elif case == "other_body":
        body = body_of(dict(example("missed-internal"), ring_seconds=31))
    elif case == "other_id":
        headers["webhook-id"] = "msg_other"
    elif case == "v2_only":
        headers["webhook-signature"] = "v2," + sig.split(",", 1)[1]
    elif case == "garbage_signature":
        headers["webhook-signature"] = "v1,AAAA"
    elif case == "no_comma":
        headers["webhook-signature"] = sig.replace(",", "")
    elif case == "not_base64":
        headers["webhook-signature"] = "v1,@@@"
    elif case == "bad_timestamp":
        headers["webhook-timestamp"] = "nan"
    resp = post_raw(client, body, headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]
    assert count_events() == 0


def test_timestamp_within_five_minutes_is_accepted(client):
    body = body_of(example("missed-internal"))
    assert post_raw(client, body, signed_headers(body, WEBHOOK_SECRET, timestamp=time.time() - 4 * 60)).status_code == 202


def test_unsigned_garbage_is_401_not_400(client):
    assert post_raw(client, b"not json", {"Content-Type": "application/json"}).status_code == 401


def test_regenerated_secret_is_seen_at_once(app, client):
    """The secret from the instance file is cached, and the cache follows a regeneration."""
    from notifier.services import settings

    app.config["WEBHOOK_SECRET_FROM_ENV"] = False
    first = settings.webhook_secret()
    body = body_of(example("missed-internal"))
    assert post_raw(client, body, signed_headers(body, first)).status_code == 202
    second = settings.regenerate_webhook_secret()
    assert second != first
    body = body_of(dict(example("missed-internal"), id="evt-after"))
    assert post_raw(client, body, signed_headers(body, first)).status_code == 401
    assert post_raw(client, body, signed_headers(body, second)).status_code == 202


# --------------------------------------------------------------------------- 400 / 413 / 415 / 422

@pytest.mark.parametrize("body", [
    b"", b"not json", b"[1, 2]", b'"text"', b"null", b"{", b'{"id": NaN}', b'{"n": 1e999}',
    b'{"id": "\\ud800"}', "{\"id\": \"\xff\"}".encode("latin-1"), b"[" * 5000 + b"]" * 5000,
])
def test_not_a_json_object_is_400(app, client, body):
    try:
        headers = signed_headers(body, WEBHOOK_SECRET)
    except UnicodeDecodeError:  # not UTF-8: cannot be JSON, whatever the signature
        headers = signed_headers(b"{}", WEBHOOK_SECRET)
    resp = post_raw(client, body, headers)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]


def test_body_over_64_kib_is_413(client):
    payload = dict(example("missed-internal"), padding="x" * MAX_BODY)
    body = body_of(payload)
    resp = post_raw(client, body, signed_headers(body, WEBHOOK_SECRET))
    assert resp.status_code == 413
    assert "64" in resp.get_json()["error"]


def test_body_of_exactly_64_kib_is_fine(client):
    payload = dict(example("missed-internal"), padding="")
    payload["padding"] = "x" * (MAX_BODY - len(body_of(payload)))
    body = body_of(payload)
    assert len(body) == MAX_BODY
    assert post_raw(client, body, signed_headers(body, WEBHOOK_SECRET)).status_code == 202


def test_chunked_bodies_are_limited_while_read(app, live_server):
    """Without a Content-Length the limit holds as the body streams in."""
    def chunks(data: bytes):
        for i in range(0, len(data), 4096):
            yield data[i:i + 4096]

    small = body_of(example("voicemail"))
    big = body_of(dict(example("missed-internal"), padding="x" * MAX_BODY))
    for body, status in ((small, 202), (big, 413)):
        resp = requests.post(live_server.url + URL, data=chunks(body), headers=signed_headers(body, WEBHOOK_SECRET),
                             timeout=30)
        assert resp.status_code == status
    assert count_events() == 1


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
def test_not_json_content_type_is_415(client, content_type):
    body = body_of(example("missed-internal"))
    headers = signed_headers(body, WEBHOOK_SECRET)
    del headers["Content-Type"]
    if content_type:
        headers["Content-Type"] = content_type
    assert post_raw(client, body, headers).status_code == 415


def test_json_with_charset_is_fine(client):
    body = body_of(example("missed-internal"))
    headers = dict(signed_headers(body, WEBHOOK_SECRET), **{"Content-Type": "application/json; charset=utf-8"})
    assert post_raw(client, body, headers).status_code == 202


@pytest.mark.parametrize("change, fields", [
    ({"id": None, "type": None}, {"id", "type"}),
    ({"started_at": "2026-11-25 10:15"}, {"started_at"}),
    ({"to": "anonymous", "from": "abc"}, {"to", "from"}),
    ({"direction": "sideways", "result": "lost"}, {"direction", "result"}),
    ({"direction": "external"}, {"routing"}),
    ({"ring_seconds": -1, "ended_at": "2026-11-25T10:00:00+03:00"}, {"ring_seconds", "ended_at"}),
    ({"id": "x" * 129}, {"id"}),
])
def test_invalid_fields_are_422_each_named(app, client, change, fields):
    payload = example("missed-internal")
    payload.update(change)
    payload = {k: v for k, v in payload.items() if v is not None}
    resp = post_event(client, payload)
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) == fields
    assert count_events() == 0


def test_hidden_caller_is_accepted(app, client):
    assert post_event(client, dict(example("missed-internal"), **{"from": "anonymous"})).status_code == 202
    event = db.session.scalar(select(Event))
    assert event.caller == "anonymous" and event.caller_key is None


def test_hidden_caller_with_control_characters_is_stored_safely(app, client):
    """PostgreSQL text cannot hold NUL: the display copy is dropped, the payload keeps it."""
    assert post_event(client, dict(example("voicemail"), **{"from": "anonymous\u0000"})).status_code == 202
    event = db.session.scalar(select(Event))
    assert event.caller == "" and event.caller_key is None
    assert event.payload["from"] == "anonymous\u0000"


def test_webhook_needs_no_bearer_token_and_only_post(client):
    assert client.get(URL).status_code in (401, 405)  # GET is the log API's (bearer token)
    assert post_event(client, example("voicemail")).status_code == 202


# --------------------------------------------------------------------------- Redis down: the outbox

@pytest.fixture
def own_redis(app, tmp_path):
    """A Redis of this test's own that it may stop and start (the suite's one stays up)."""
    server = EmbeddedRedis(str(tmp_path / "own-redis"), persist=False).start()
    app.config["REDIS_URL"] = server.url
    app.extensions.pop("redis", None)
    yield server
    server.stop()
    app.extensions.pop("redis", None)


def test_redis_down_at_intake_then_sweep_queues_and_worker_processes(app, client, own_redis, run_worker):
    own_redis.stop()
    resp = post_event(client, example("missed-internal"))
    assert resp.status_code == 202  # stored, so promised
    assert resp.get_json()["status"] == "accepted"
    event = db.session.scalar(select(Event))
    assert event.queued_at is None and event.processed_at is None
    pk = event.id
    # While Redis is still down the sweep fails loudly, and the event stays unqueued.
    with pytest.raises(RedisError):
        outbox.sweep(now=utcnow() + timedelta(seconds=10))

    own_redis.start()
    app.extensions.pop("redis", None)
    assert outbox.sweep(now=utcnow())["events"] == 0  # younger than the grace period
    assert outbox.sweep(now=utcnow() + timedelta(seconds=10))["events"] == 1
    assert outbox.sweep(now=utcnow() + timedelta(seconds=10))["events"] == 0  # queued now
    assert queued_job_ids(app) == [f"event-{pk}"]
    run_worker()
    event = db.session.get(Event, pk)
    assert event.processed_at is not None
    assert db.session.scalar(select(Decision.reason).where(Decision.event_id == pk)) == "unknown_subscriber"


# --------------------------------------------------------------------------- one language per audience

CYRILLIC = re.compile("[А-Яа-яЁё]")


@pytest.mark.parametrize("case", ["unsigned", "wrong_signature", "not_json", "not_utf8", "wrong_type", "too_big", "invalid_fields"])
def test_webhook_answers_are_english_for_the_integrator(client, case):
    """docs/events.md «Responses»: every 4xx of the webhook speaks the integrator's language (English)."""
    body = body_of(example("missed-internal"))
    headers = signed_headers(body, WEBHOOK_SECRET)
    if case == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif case == "wrong_signature":
        headers = signed_headers(body, OTHER_SECRET)
    elif case == "not_json":
        body = b"[1]"
        headers = signed_headers(body, WEBHOOK_SECRET)
    elif case == "not_utf8":
        body = b'{"id": "\xff"}'
        headers = signed_headers(b"{}", WEBHOOK_SECRET)
    elif case == "wrong_type":
        headers["Content-Type"] = "text/plain"
    elif case == "too_big":
        body = body_of(dict(example("missed-internal"), padding="x" * MAX_BODY))
    elif case == "invalid_fields":
        body = body_of(dict(example("missed-internal"), to="", result="maybe"))
        headers = signed_headers(body, WEBHOOK_SECRET)
    resp = post_raw(client, body, headers)
    assert 400 <= resp.status_code < 500
    text = json.dumps(resp.get_json(), ensure_ascii=False)
    assert not CYRILLIC.search(text), text
    if case == "wrong_signature":
        assert resp.get_json() == {"error": "signature or timestamp invalid (No matching signature found)"}
