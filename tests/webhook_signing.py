"""Signing webhook bodies the way the PBX does (Standard Webhooks), and the
example bodies of docs/events.md, for tests.

    body = json.dumps(example("missed-internal")).encode()
    client.post("/api/v1/events", data=body, headers=signed_headers(body, WEBHOOK_SECRET))
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from standardwebhooks.webhooks import Webhook

# The example bodies of docs/events.md, kept in the repository.
EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def example(name: str) -> dict:
    """A fresh copy of an example body from docs/examples, e.g. ``example("voicemail")``."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def signed_headers(body: bytes, secret: str, msg_id: str | None = None,
                   timestamp: int | float | datetime | None = None) -> dict:
    """Content-Type and the three webhook-* headers for ``body``.

    ``timestamp``: unix seconds or an aware datetime; now when None."""
    if timestamp is None:
        moment = datetime.now(timezone.utc)
    elif isinstance(timestamp, datetime):
        moment = timestamp
    else:
        moment = datetime.fromtimestamp(timestamp, timezone.utc)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body.decode("utf-8")),
    }


def post_event(client, payload: dict, secret: str | None = None):
    """POST a signed event with a Flask test client (secret: the test app's by default)."""
    from tests.conftest import WEBHOOK_SECRET

    body = json.dumps(payload).encode()
    return client.post("/api/v1/events", data=body, headers=signed_headers(body, secret or WEBHOOK_SECRET))
