"""Building events, decisions and deliveries directly, and running delivery jobs.

Delivery tests do not depend on the intake: they store the rows processing
would create (an Event with its payload, a Decision to notify, a pending
Delivery per channel) and run the real job code.
"""
from __future__ import annotations

import http.server
import threading
import time
from datetime import datetime, timezone

from notifier.services import settings
from notifier.core import phones
from notifier.extensions import db
from notifier.models import Contact, ContactNumber, Decision, Delivery, Event, Subscriber
from notifier.pipeline.queueing import get_queue
from notifier.pipeline.worker import make_worker

STARTED = "2026-11-25T10:15:03+03:00"


def configure_mail(app, smtp, **extra) -> None:
    with app.app_context():
        settings.put(settings.MAIL_KEY, {"server": smtp.host, "port": smtp.port,
                                         "sender": "АТС <pbx@example.com>", **extra})
        db.session.commit()


def configure_telegram(app, tg) -> None:
    app.config.update(TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_URL=tg.url)


def add_subscriber(number="102", name="Иванов Иван", email="ivanov@example.com",
                   chat_id: int | None = 5551234, telegram="@ivanov") -> int:
    sub = Subscriber(number=number, number_key=phones.normalize(number), name=name, email=email,
                     telegram=telegram if chat_id else None, telegram_chat_id=chat_id,
                     telegram_linked_at=datetime.now(timezone.utc) if chat_id else None)
    db.session.add(sub)
    db.session.commit()
    return sub.id


def add_contact(name: str, number: str, vip: bool = False) -> int:
    contact = Contact(name=name, vip=vip,
                      numbers=[ContactNumber(number=number, number_key=phones.normalize(number))])
    db.session.add(contact)
    db.session.commit()
    return contact.id


def missed_call(event_id="evt-missed-1", caller="+7 902 385-52-70", to="102", **extra) -> dict:
    return {"id": event_id, "type": "call.ended", "started_at": STARTED, "direction": "external",
            "from": caller, "to": to, "line": "+7 495 123-45-67", "routing": "direct",
            "result": "no_answer", **extra}


def voicemail(event_id="evt-vm-1", caller="+7 902 385-52-70", to="102", **extra) -> dict:
    return {"id": event_id, "type": "voicemail.received", "started_at": STARTED,
            "from": caller, "to": to, "duration_seconds": 65, **extra}


def add_event(payload: dict) -> Event:
    from notifier.core.events import parse_event

    parsed = parse_event(payload)
    event = Event(event_id=parsed.id, type=parsed.type, payload=payload, call_id=parsed.call_id,
                  started_at=parsed.started_at, caller=parsed.caller_raw, caller_key=parsed.caller,
                  callee_key=parsed.callee, result=parsed.result)
    db.session.add(event)
    db.session.commit()
    return event


def add_deliveries(payload: dict, subscriber_id: int, channels=("email", "telegram")) -> list[int]:
    """The rows processing stores for a subscriber whose decision is «notify»."""
    event = add_event(payload)
    sub = db.session.get(Subscriber, subscriber_id)
    db.session.add(Decision(event_id=event.id, subscriber_id=sub.id, subscriber_number=sub.number_key,
                            notify=True, reason="notify"))
    rows = [Delivery(event_id=event.id, subscriber_id=sub.id, subscriber_number=sub.number_key,
                     channel=channel) for channel in channels]
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


def delivery(delivery_id: int) -> Delivery:
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id)


def run_jobs(app, max_seconds: float = 30) -> None:
    """Run the shipped worker (burst, with the scheduler) until no job is queued or scheduled.

    Scheduled retries are waited for: the worker's scheduler moves them to the
    queue when due, as in production.
    """
    deadline = time.monotonic() + max_seconds
    while True:
        make_worker(app).work(burst=True, with_scheduler=True, logging_level="WARNING")
        with app.app_context():
            queue = get_queue()
            registry = queue.scheduled_job_registry
            ids = registry.get_job_ids()
            if not ids and queue.count == 0:
                return
            due = min((registry.get_scheduled_time(i) for i in ids), default=None)
        wait = 0.0 if due is None else (due - datetime.now(timezone.utc)).total_seconds()
        assert time.monotonic() + wait < deadline, f"jobs still scheduled: {ids}"
        time.sleep(max(wait, 0) + 0.2)


class FileServer:
    """A local HTTP server for recordings: ``files`` maps path -> (bytes, content type).

    ``declare`` maps path -> a Content-Length to announce instead of the real one.
    """

    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}
        self.declare: dict[str, int] = {}
        self.hits: list[str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                fake.hits.append(self.path)
                if self.path not in fake.files:
                    self.send_error(404)
                    return
                data, ctype = fake.files[self.path]
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(fake.declare.get(self.path, len(data))))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server.server_port}{path}"
