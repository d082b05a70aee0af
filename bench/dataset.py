"""What the benchmark feeds the app: employees with rules, signed events.

Each end-to-end event goes to its own employee (unique email address and
Telegram chat id), so a notification at a sink names exactly one event: the
benchmark counts lost and duplicated notifications without parsing texts.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from notifier.core import phones

CHAT_BASE = 5_000_000_000
ALL_RULE = {"types": ["missed_calls", "voicemail"], "time": {"mode": "all"}, "callers": {"mode": "all"}}


def number(i: int) -> str:
    """A distinct mobile number per employee, as an admin would type it."""
    return f"+7 900 {i // 10000:03d}-{i // 100 % 100:02d}-{i % 100:02d}"


def email(i: int) -> str:
    return f"emp{i}@bench.local"


def chat_id(i: int) -> int:
    return CHAT_BASE + i


def add_employees(db, first: int, count: int, with_channels: bool = True) -> list[int]:
    """Insert employees ``first .. first+count-1`` in bulk; returns their ids."""
    from sqlalchemy import select

    from notifier.models import Subscriber

    now = datetime.now(timezone.utc)
    rows = [{
        "number": number(i), "number_key": phones.normalize(number(i)),
        "name": f"Сотрудник {i}", "email": email(i) if with_channels else None,
        "telegram_chat_id": chat_id(i) if with_channels else None,
        "telegram_linked_at": now if with_channels else None,
        "created_at": now, "updated_at": now,
    } for i in range(first, first + count)]
    for chunk in _chunks(rows, 5000):
        db.session.execute(insert(Subscriber), chunk)
    db.session.commit()
    keys = [r["number_key"] for r in rows]
    by_key = dict(db.session.execute(select(Subscriber.number_key, Subscriber.id)
                                     .where(Subscriber.number_key.in_(keys[:1] + keys[-1:]))).all())
    first_id = by_key[keys[0]]
    return list(range(first_id, first_id + count))  # bulk insert: consecutive ids


def add_rules(db, pairs: list[tuple[int, dict]]) -> None:
    """Insert (subscriber_id, criteria) rules in bulk."""
    from notifier.models import Rule

    now = datetime.now(timezone.utc)
    rows = [{"subscriber_id": sid, "criteria": crit, "created_at": now, "updated_at": now}
            for sid, crit in pairs]
    for chunk in _chunks(rows, 5000):
        db.session.execute(insert(Rule), chunk)
    db.session.commit()


def varied_criteria(rnd: random.Random) -> dict:
    """A realistic mix: time criteria of every kind, listed and VIP callers."""
    time_crit = rnd.choice([
        {"mode": "all"}, {"mode": "work_hours"}, {"mode": "off_hours"},
        {"mode": "period", "period": {"weekdays": ["sat", "sun"], "from": "10:00", "to": "18:00"}},
    ])
    callers = rnd.choice([
        {"mode": "all"}, {"mode": "vip"},
        {"mode": "listed", "numbers": [f"+7902{rnd.randrange(10**7):07d}" for _ in range(rnd.randrange(1, 6))]},
    ])
    return {"types": rnd.sample(["missed_calls", "voicemail"], rnd.randrange(1, 3)),
            "time": time_crit, "callers": callers}


def missed_call(event_id: str, to: str, caller: str = "+7 902 385-52-70") -> dict:
    """An external call transferred directly and not answered: it notifies (events.md rule 1)."""
    start = datetime.now(timezone(timedelta(hours=3))).replace(microsecond=0) - timedelta(seconds=30)
    return {
        "id": event_id, "type": "call.ended", "call_id": "call-" + event_id,
        "started_at": start.isoformat(), "ended_at": (start + timedelta(seconds=25)).isoformat(),
        "direction": "external", "routing": "direct", "line": "+7 495 100-00-00",
        "from": caller, "to": to, "result": "no_answer", "ring_seconds": 25,
    }


def sign(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict:
    """Standard Webhooks headers (events.md "Authentication")."""
    ts = str(int(timestamp if timestamp is not None else time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {"Content-Type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": ts, "webhook-signature": "v1," + base64.b64encode(mac).decode()}


def signed_request(secret: str, body: dict) -> tuple[bytes, dict]:
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return raw, sign(secret, "msg_" + body["id"], raw)


def _chunks(rows: list, size: int):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]
