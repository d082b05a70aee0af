"""Missed calls for page, API and browser tests, made by the real processing job
from stored events (times relative to now, so they fall in the page's default period)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from notifier.pipeline.processing import process_event

from . import factories

CLIENT = "+7 902 385-52-70"


def noon() -> datetime:
    """Today 12:00 in the company's (default) zone: times a few hours before it
    fall on today whatever the hour the tests run at (intake allows a day ahead)."""
    return datetime.now(ZoneInfo("Europe/Moscow")).replace(hour=12, minute=0, second=0, microsecond=0)


def moment(ago: timedelta) -> str:
    return (noon() - ago).isoformat()


def missed(event_id: str, ago: timedelta, caller: str = CLIENT, to: str = "102") -> int:
    """A missed external direct call ``ago`` before today's noon, processed; the event's pk."""
    event = factories.event(factories.missed_call(event_id, caller=caller, to=to, started_at=moment(ago)))
    process_event(event.id)
    return event.id


def callback(event_id: str, ago: timedelta, to: str = CLIENT, frm: str = "103") -> int:
    """An answered outgoing call from employee ``frm`` to ``to``, processed."""
    event = factories.event({"id": event_id, "type": "call.ended", "started_at": moment(ago),
                             "direction": "outgoing", "from": frm, "to": to, "result": "answered"})
    process_event(event.id)
    return event.id


def office(app):
    """Two employees, a VIP client; four missed calls: one called back after 12 min,
    one open VIP, one open to another employee, one four days ago still open."""
    ivanov = factories.subscriber("102", "Иванов Иван", "ivanov@example.com")
    petrov = factories.subscriber("103", "Петров Пётр", "petrov@example.com")
    factories.contact("ООО Ромашка", "+7 916 000-00-01", vip=True)
    hour = timedelta(hours=1)
    missed("m-back", 3 * hour)
    callback("o-back", 3 * hour - timedelta(minutes=12))
    missed("m-vip", 2 * hour, caller="8 916 000 00 01")
    missed("m-petrov", hour, caller="+7 495 111-22-33", to="103")
    missed("m-old", timedelta(days=4), caller="+7 495 222-33-44")
    return {"ivanov": ivanov.id, "petrov": petrov.id}
