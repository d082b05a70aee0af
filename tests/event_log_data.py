"""Events, decisions and deliveries written straight to the database, as processing
and delivery would leave them, for the «Журнал» tests (page, API, browser)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from notifier.core import phones
from notifier.extensions import db
from notifier.models import Decision, Delivery, Event, Subscriber

T0 = datetime(2026, 11, 25, 7, 15, 3, tzinfo=timezone.utc)  # 10:15:03 in Moscow


def event(event_id: str, *, caller: str = "+7 902 385-52-70", to: str = "102", result: str | None = "no_answer",
          type: str = "call.ended", started_at: datetime | None = None, processed: bool = True,
          decisions=(), deliveries=(), **extra_payload) -> Event:
    """An event with ``decisions`` [(Subscriber|number, notify, reason)] and
    ``deliveries`` [dict(channel, status, address, attempts, last_error, subscriber)]."""
    started_at = started_at or T0
    payload = {"id": event_id, "type": type, "started_at": started_at.isoformat(), "from": caller, "to": to}
    if type == "call.ended":
        payload.update(direction="internal", result=result)
    payload.update(extra_payload)
    row = Event(event_id=event_id, type=type, payload=payload, started_at=started_at,
                caller=caller, caller_key=phones.normalize(caller), callee_key=phones.normalize(to),
                result=result if type == "call.ended" else None, received_at=started_at + timedelta(seconds=1),
                queued_at=started_at, processed_at=started_at + timedelta(seconds=2) if processed else None)
    db.session.add(row)
    db.session.flush()
    for who, notify, reason in decisions:
        sub = who if isinstance(who, Subscriber) else None
        db.session.add(Decision(event_id=row.id, subscriber_id=sub.id if sub else None,
                                subscriber_number=sub.number_key if sub else phones.normalize(who),
                                notify=notify, reason=reason))
    for spec in deliveries:
        spec = dict(spec)
        sub = spec.pop("subscriber")
        spec.setdefault("address", sub.email or "")
        status = spec.setdefault("status", "pending")
        if status == "sent":
            spec.setdefault("sent_at", started_at + timedelta(seconds=5))
        db.session.add(Delivery(event_id=row.id, subscriber_id=sub.id, subscriber_number=sub.number_key, **spec))
    db.session.flush()
    return row
