"""Running delivery jobs, and what the delivery tests share beside tests.factories.

Delivery tests do not depend on the intake: they store the rows processing
would create (factories.deliveries) and run the real job code.
"""
from __future__ import annotations

import http.server
import threading
import time
from datetime import datetime, timezone
from functools import partial

from notifier.extensions import db
from notifier.models import Delivery
from notifier.pipeline.queueing import get_queue
from notifier.pipeline.worker import make_worker

from . import factories

linked_employee = partial(factories.subscriber, chat_id=5551234, telegram="@ivanov")
"""The employee the delivery tests notify: email and a linked Telegram chat."""


def notified_employee(smtp, tg, types=("missed_calls",), **fields):
    """What an end-to-end test starts from: mail and the bot pointed at the test
    servers, and the linked employee with one rule for ``types``."""
    factories.configure_mail(smtp)
    factories.configure_telegram(tg)
    return linked_employee(rules=[{"types": list(types)}], **fields)


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

    ``declare`` maps path -> a Content-Length to announce instead of the real one;
    ``redirects`` maps path -> the ``Location`` of a 302, sent as written.
    """

    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}
        self.declare: dict[str, int] = {}
        self.redirects: dict[str, str] = {}
        self.hits: list[str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                fake.hits.append(self.path)
                if self.path in fake.redirects:
                    self.send_response(302)
                    self.send_header("Location", fake.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
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

    @property
    def port(self) -> int:
        return self.server.server_port

    def host(self, name: str = "127.0.0.1") -> str:
        """The ``host:port`` entry of RECORDING_URL_HOSTS that allows this server."""
        return f"{name}:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"
