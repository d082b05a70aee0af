"""Rows for tests, written straight to the database as the app would leave
them. Call inside the app fixture (it holds an app context)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app

from notifier.core import phones
from notifier.core.criteria import parse_criteria
from notifier.core.events import parse_event
from notifier.extensions import db
from notifier.models import Contact, ContactNumber, Decision, Delivery, Event, Rule, Subscriber
from notifier.pipeline.intake import event_columns
from notifier.services import settings
from notifier.services.rules import stored

STARTED = "2026-11-25T10:15:03+03:00"


# Employees, clients, rules

def subscriber(number="102", name="Иванов Иван", email: str | None = "ivanov@example.com", *,
               chat_id: int | None = None, telegram: str | None = None, rules=(), **fields) -> Subscriber:
    """An employee; ``chat_id`` links Telegram; ``rules`` are API rule bodies."""
    sub = Subscriber(number=number, number_key=phones.normalize(number), name=name, email=email,
                     telegram=telegram or ("@tg" + str(chat_id) if chat_id else None),
                     telegram_chat_id=chat_id,
                     telegram_linked_at=datetime.now(timezone.utc) if chat_id else None, **fields)
    sub.rules = [Rule(criteria=stored(parse_criteria(body))) for body in rules]
    db.session.add(sub)
    db.session.commit()
    return sub


def rule(subscriber_id: int, **body) -> Rule:
    """A missed-calls rule unless ``body`` says otherwise (API rule body fields)."""
    row = Rule(subscriber_id=subscriber_id, criteria=stored(parse_criteria({"types": ["missed_calls"], **body})))
    db.session.add(row)
    db.session.commit()
    return row


def contact(name: str, *numbers: str, vip: bool = False) -> Contact:
    row = Contact(name=name, vip=vip, numbers=[
        ContactNumber(number=n, number_key=phones.normalize(n), position=i) for i, n in enumerate(numbers)])
    db.session.add(row)
    db.session.commit()
    return row


# Events as the PBX posts them, and as intake and processing store them

def missed_call(event_id="evt-missed-1", caller="+7 902 385-52-70", to="102", **extra) -> dict:
    return {"id": event_id, "type": "call.ended", "started_at": STARTED, "direction": "external",
            "from": caller, "to": to, "line": "+7 495 123-45-67", "routing": "direct",
            "result": "no_answer", **extra}


def voicemail(event_id="evt-vm-1", caller="+7 902 385-52-70", to="102", **extra) -> dict:
    return {"id": event_id, "type": "voicemail.received", "started_at": STARTED,
            "from": caller, "to": to, "duration_seconds": 65, **extra}


def event(payload: dict) -> Event:
    """Stored the way intake stores it (without HTTP)."""
    row = Event(**event_columns(parse_event(payload), payload))
    db.session.add(row)
    db.session.commit()
    return row


def deliveries(payload: dict, subscriber_id: int, channels=("email", "telegram")) -> list[int]:
    """The rows processing stores for a subscriber whose decision is «notify»."""
    ev = event(payload)
    sub = db.session.get(Subscriber, subscriber_id)
    db.session.add(Decision(event_id=ev.id, subscriber_id=sub.id, subscriber_number=sub.number_key,
                            notify=True, reason="notify"))
    rows = [Delivery(event_id=ev.id, subscriber_id=sub.id, subscriber_number=sub.number_key,
                     channel=channel) for channel in channels]
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


# Settings

def configure_mail(smtp, **extra) -> None:
    """SMTP settings saved as the settings page saves them, pointing at ``smtp``."""
    settings.put(settings.MAIL_KEY, {"server": smtp.host, "port": smtp.port,
                                     "sender": "АТС <pbx@example.com>", **extra})
    db.session.commit()


def configure_telegram(tg) -> None:
    current_app.config.update(TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_URL=tg.url)
