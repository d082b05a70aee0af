"""The PBX webhook's intake (events.md): verify, validate, store, queue.

``accept`` is the one way in for events: the JSON webhook (``receive``) and
every PBX adapter (notifier.pbx, notifier.api.pbx) hand it validated-to-be
event dicts and get the same guarantees.

The request path is hot (a PBX may burst thousands of events a second), so it
does the least that keeps the contract's promise: one INSERT, one commit, one
enqueue. No SMTP or Telegram work here; ``notifier.pipeline.processing`` does the rest
in the worker.

Why it is built this way:

- Checks in the order of their cost: size (Content-Length, before reading),
  content type, the Standard Webhooks signature over the raw bytes, JSON, then
  the fields (``core.events.parse_event``). Any failure is a clear 4xx.
- Idempotent by the unique constraint on ``Event.event_id``: insert first and
  take an IntegrityError as "duplicate" (no check-then-insert race, so two
  copies arriving at once still make one row).
- Durable before acknowledged: the row is committed before the 202. It is
  inserted with ``queued_at`` already set (saving an UPDATE on the hot path),
  then queued; if Redis refuses, ``queued_at`` goes back to NULL and the outbox
  sweep (``notifier.pipeline.outbox``) queues it later. If the process dies between the
  commit and the enqueue, the sweep finds the event queued long ago, unprocessed
  and without a job, and queues it again. Either way nothing acknowledged is lost.
- Only the contract's fields of the event's type are stored (``payload``):
  "fields not listed are ignored", and arbitrary nested junk never reaches the
  database or the log page.
"""
from __future__ import annotations

import base64
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Request, current_app
from redis.exceptions import RedisError
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError, OperationalError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifier.config import InstanceSecrets
from notifier.core import strict_json
from notifier.core.events import CALL_ENDED, CallEvent, parse_event
from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Event, utcnow
from notifier.pipeline.queueing import enqueue_calls, get_queue
from notifier.services import settings

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
PROCESS_JOB = "notifier.pipeline.processing.process_event"

_COMMON_FIELDS = ("id", "type", "call_id", "started_at", "from", "to")
STORED_FIELDS = {
    CALL_ENDED: _COMMON_FIELDS + ("ended_at", "direction", "line", "routing", "result", "ring_seconds"),
    "voicemail.received": _COMMON_FIELDS + ("duration_seconds", "recording_url"),
}


# Built once: with the values passed at execution, SQLAlchemy reuses the compiled
# statement from its cache; ``.values(**row)`` would build and hash a new
# statement (a bind parameter per column) on every request.
_INSERT_EVENT = insert(Event.__table__).returning(Event.__table__.c.id)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


def _error(status: int, message: str) -> Answer:
    """The webhook answers its sender (the PBX integrator) in English, like the
    422 field messages of core.events and the signature library's reasons:
    one language per audience (docs/events.md «Responses»)."""
    return Answer(status, {"error": message})


def process_job_id(event_pk: int) -> str:
    return f"event-{event_pk}"


def enqueue_processing(event_pks: list[int]) -> None:
    """Hand stored events to the worker, one job each, in one Redis round trip
    (RQ alone makes two per job). Raises RedisError when Redis is down."""
    enqueue_calls(get_queue(), ((PROCESS_JOB, (pk,), process_job_id(pk)) for pk in event_pks))


# --------------------------------------------------------------------------- the signature

def _verifier() -> Webhook:
    """The Webhook verifier for the current secret, cached per process.

    ``settings.webhook_secret()`` reads the instance's secrets file; instead of
    re-reading it per request, the cache is keyed on that file's identity
    (inode, size, mtime), which a regeneration in any web process changes
    (an atomic replace). A secret from the environment is keyed on its value.
    """
    app = current_app._get_current_object()
    if app.config.get("WEBHOOK_SECRET_FROM_ENV"):
        key: object = ("env", app.config["WEBHOOK_SECRET"])
    else:
        path = app.extensions.get("webhook_secrets_path")
        if path is None:
            path = app.extensions["webhook_secrets_path"] = str(InstanceSecrets(app.instance_path).path)
        try:
            st = os.stat(path)
            key = ("file", st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except FileNotFoundError:
            key = None  # not generated yet: webhook_secret() creates it
    cached = app.extensions.get("webhook_verifier")
    if key is not None and cached is not None and cached[0] == key:
        return cached[1]
    verifier = Webhook(settings.webhook_secret())
    if key is not None:
        app.extensions["webhook_verifier"] = (key, verifier)
    return verifier


SIGNATURE_BYTES = 32  # HMAC-SHA256


def well_formed_signatures(header: str) -> str:
    """The ``v1,<base64>`` entries of a ``webhook-signature`` header that can
    be a signature at all, re-encoded canonically and space-separated.

    Why: ``standardwebhooks`` unpacks and base64-decodes each entry in turn and
    lets the first malformed one raise, so ``v1,bad v1,<valid>`` was refused,
    while the contract says one matching entry is enough. Entries are split on
    any run of whitespace; other versions, entries without a comma, anything
    that is not base64 of 32 bytes are dropped here, and the library then
    checks the timestamp and compares what is left in constant time.
    """
    kept = []
    for entry in header.split():
        version, comma, encoded = entry.partition(",")
        if version != "v1" or not comma:
            continue
        encoded = encoded.rstrip("=")  # padding as the library takes it: missing or extra
        try:
            raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text
            continue
        if len(raw) == SIGNATURE_BYTES:
            kept.append("v1," + base64.b64encode(raw).decode("ascii"))
    return " ".join(kept)


def _signature_error(text: str, headers) -> str | None:
    """None when the Standard Webhooks signature holds, else why not."""
    wanted = {name: headers.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    if not all(wanted.values()):
        return "missing signature headers: webhook-id, webhook-timestamp, webhook-signature"
    wanted["webhook-signature"] = well_formed_signatures(wanted["webhook-signature"])
    if not wanted["webhook-signature"]:
        return "signature invalid (no entry of the form v1,<base64>)"
    try:
        verifier = _verifier()
    except Exception:  # a malformed WEBHOOK_SECRET: the admin must fix it, the PBX retries
        log.exception("the webhook secret cannot be used")
        return "the server's webhook secret is invalid (WEBHOOK_SECRET): ask the admin"
    try:
        verifier.verify(text, wanted, json_parse=False)
    except Exception as err:  # WebhookVerificationError, or the library tripping on garbage
        reason = str(err) if isinstance(err, WebhookVerificationError) else "malformed signature"
        return f"signature or timestamp invalid ({reason})"
    return None


# --------------------------------------------------------------------------- the body

def read_body(request: Request) -> bytes | None:
    """At most MAX_BODY bytes of the body, or None when it is longer."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return None
    chunks, size = [], 0
    stream = request.stream
    while size <= MAX_BODY:
        chunk = stream.read(MAX_BODY + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    return None if len(body) > MAX_BODY else body


def decode_json(body: bytes, text: str) -> dict | None:
    """The JSON object, or None (strict_json: no NaN/Infinity, valid Unicode)."""
    try:
        data = strict_json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------------- intake

def event_columns(call: CallEvent, body: dict) -> dict:
    """The Event row of a validated body: the contract's fields of its type as
    the payload, and the columns the log and processing look events up by."""
    return dict(
        event_id=call.id, type=call.type,
        payload={k: body[k] for k in STORED_FIELDS[call.type] if k in body},
        call_id=call.call_id, started_at=call.started_at,
        caller=call.caller_raw if call.caller_raw.isprintable() else "",  # no NUL into PostgreSQL text
        caller_key=call.caller, callee_key=call.callee, result=call.result,
    )


class Rejected(Exception):
    """Events that cannot be taken; ``answer`` is the 4xx/5xx to give."""

    def __init__(self, answer: Answer):
        super().__init__(answer.body)
        self.answer = answer


def accept(events: Sequence[dict], source: str | None = None, raw: dict | None = None) -> list[tuple[str, str]]:
    """The one way in for events, from the JSON webhook and every PBX adapter.

    Validates each event with ``parse_event`` first: one invalid event rejects
    them all (422, nothing stored; for an adapter that is its own bug). Then
    stores each once by its id, committed before anything is acknowledged,
    and queues what was new in one Redis round trip; a Redis outage leaves
    them to the outbox sweep. ``source``/``raw`` (the adapter and the vendor's
    request) are kept with every event. Answers ``[(id, "accepted" |
    "duplicate")]`` in the order given; raises Rejected (422, or 503 when the
    database is down: the sender should retry, and what was stored before is
    queued and will be a duplicate then).
    """
    now = utcnow()
    parsed = []
    for index, body in enumerate(events):
        try:
            parsed.append((parse_event(body, now), body))
        except FieldErrors as err:
            errors = err.errors if len(events) == 1 else {f"events[{index}].{k}": v for k, v in err.errors.items()}
            raise Rejected(Answer(422, {"errors": errors})) from None

    results: list[tuple[str, str]] = []
    stored: list[int] = []
    try:
        for call, body in parsed:
            values = dict(event_columns(call, body), received_at=now, queued_at=now, source=source, raw=raw)
            try:
                stored.append(_store(values))
            except IntegrityError:
                results.append((call.id, "duplicate"))
            else:
                results.append((call.id, "accepted"))
    except OperationalError:
        log.exception("cannot store event %s", call.id)
        raise Rejected(_error(503, "database unavailable, retry later")) from None
    finally:
        _queue(stored)
    return results


def _queue(pks: list[int]) -> None:
    if not pks:
        return
    try:
        enqueue_processing(pks)
    except RedisError as err:
        log.warning("Redis unavailable, events %s left for the outbox sweep: %s", pks, err)
        _unmark_queued(pks)


def receive(request: Request) -> Answer:
    """Everything ``POST /api/v1/events`` does; never raises for any input."""
    body = read_body(request)
    if body is None:
        return _error(413, f"body larger than {MAX_BODY // 1024} KiB")
    if request.mimetype != "application/json":
        return _error(415, "Content-Type must be application/json")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None:
        return _error(400, "body is not UTF-8, so not JSON")
    problem = _signature_error(text, request.headers)
    if problem:
        return _error(401, problem)
    data = decode_json(body, text)
    if data is None:
        return _error(400, "body must be a JSON object")
    try:
        [(event_id, status)] = accept([data])
    except Rejected as err:
        return err.answer
    return Answer(202 if status == "accepted" else 200, {"id": event_id, "status": status})


def _store(values: dict) -> int:
    """INSERT the event and commit; its primary key.

    On a Core connection of its own, not the ORM session: the session's
    bookkeeping (autobegin, state changes, teardown) cost more than the INSERT
    itself. A pooled PostgreSQL connection that turns out to be dead (the
    server restarted while it was idle for less than the ping interval, see
    extensions.PING_AFTER_IDLE) is retried once on a fresh one."""
    for attempt in (1, 2):
        try:
            with db.engine.begin() as conn:
                return conn.execute(_INSERT_EVENT, values).scalar_one()
        except OperationalError as err:
            if attempt == 2 or not err.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _unmark_queued(pks: list[int]) -> None:
    """queued_at back to NULL so the sweep queues the events as soon as Redis is back.

    If even this fails, the sweep still finds them (queued long ago, no job)."""
    try:
        db.session.execute(update(Event).where(Event.id.in_(pks)).values(queued_at=None))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("cannot unmark events %s", pks)
