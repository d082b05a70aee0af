"""A test event for a newcomer (issue 14): the whole path without a PBX.

``send`` builds a contract event (events.md) for an employee's number, signs
it with the app's own webhook secret (Standard Webhooks, as a PBX would) and
hands the signed request to ``intake.receive``, the code behind
``POST /api/v1/events``: the signature, the JSON and the fields are checked,
the event is stored and queued exactly as a real one, and the worker decides
and delivers it. Nothing goes over the network, so it works whatever address
the app listens on (``flask send-test-event`` runs outside the web server).

Used by ``flask --app app send-test-event`` (runtime.cli) and the
«Отправить тестовое событие» button in «Настройки».
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from standardwebhooks.webhooks import Webhook
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from notifier.core import phones
from notifier.extensions import db
from notifier.models import Event, Subscriber
from notifier.pipeline import intake
from notifier.services import settings
from notifier.services import subscribers as subscriber_service

MISSED = "missed"
VOICEMAIL = "voicemail"
KINDS = (MISSED, VOICEMAIL)
DEFAULT_CALLER = "+7 900 000-00-00"  # a reserved-looking outside number, clearly a test


@dataclass(frozen=True)
class Outcome:
    status: int          # what the webhook would have answered: 202, or a 4xx/5xx
    answer: dict         # its body
    event_pk: int | None  # the «Журнал» row, when stored
    employee: Subscriber | None  # who has this number, if anyone


def build(to: str, kind: str = MISSED, caller: str = DEFAULT_CALLER, now: datetime | None = None) -> dict:
    """The contract event: an outside call to ``to`` that rang out unanswered, or a voicemail."""
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    started = now - timedelta(seconds=30)
    token = uuid.uuid4().hex[:12]
    event = {"id": f"test-{token}", "call_id": f"test-call-{token}",
             "started_at": started.isoformat(), "from": caller, "to": to}
    if kind == VOICEMAIL:
        event.update(type="voicemail.received", duration_seconds=12)
    else:
        event.update(type="call.ended", ended_at=now.isoformat(), direction="external", routing="direct",
                     result="no_answer", ring_seconds=30)
    return event


def signed_request(event: dict, secret: str, now: datetime | None = None) -> Request:
    """The HTTP request a PBX would send: the JSON body with Standard Webhooks headers."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    msg_id = f"msg_{uuid.uuid4().hex}"
    stamp = now or datetime.now(timezone.utc)
    signature = Webhook(secret).sign(msg_id, stamp, body)
    builder = EnvironBuilder(method="POST", path="/api/v1/events", data=body.encode(),
                             content_type="application/json",
                             headers={"webhook-id": msg_id, "webhook-timestamp": str(int(stamp.timestamp())),
                                      "webhook-signature": signature})
    try:
        return Request(builder.get_environ())
    finally:
        builder.close()


def send(to: str, kind: str = MISSED, caller: str | None = None) -> Outcome:
    """Build, sign and take in a test event; needs an app context."""
    event = build(to.strip(), kind, (caller or DEFAULT_CALLER).strip())
    answer = intake.receive(signed_request(event, settings.webhook_secret()))
    pk = None
    if answer.status in (200, 202):
        pk = db.session.scalar(select(Event.id).where(Event.event_id == event["id"]))
    key = phones.normalize(to)
    employee = subscriber_service.by_key(key) if key else None
    return Outcome(answer.status, answer.body, pk, employee)
