"""The notification sinks, each in its own process: the test suite's SMTP
server (aiosmtpd) and local Telegram Bot API server, recording receive times.

Why separate processes: the sinks must not share a GIL with the load
generator or with each other, or the benchmark would measure itself.
Every notification received is appended to a log file as one line
``<channel>\t<recipient>\t<unix time>`` (recipient: the email address or the
Telegram chat id), which the harness tails.

    python -m bench.sinks smtp LOGFILE      # prints {"port": ...} then serves
    python -m bench.sinks smtp-slow LOGFILE # the same, every SMTP reply 20 ms late
    python -m bench.sinks telegram LOGFILE  # prints {"url": ..., "token": ...}
"""
from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time

from aiosmtpd.smtp import SMTP

from tests.fakes.smtp_server import FakeSMTP
from tests.fakes.telegram_server import FakeTelegram


class _Log:
    def __init__(self, path: str):
        self._fh = open(path, "a", buffering=1, encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, channel: str, recipient, when: float) -> None:
        with self._lock:
            self._fh.write(f"{channel}\t{recipient}\t{when:.6f}\n")


class TimedSMTP(FakeSMTP):
    """Keeps no messages in memory (a long run would grow without bound)."""

    def __init__(self, log: _Log):
        super().__init__()
        self.log = log

    def _record(self, envelope) -> None:
        now = time.time()
        for rcpt in envelope.rcpt_tos:
            self.log.write("email", rcpt.lower(), now)


class _SlowReplies(SMTP):
    """Every reply (greeting, EHLO, MAIL, RCPT, 354, end of DATA, QUIT...) leaves
    ``REPLY_DELAY`` late: a stand-in for TLS and a remote server's round trips.
    The wait is the session's own (asyncio), so sessions still run side by side."""

    REPLY_DELAY = 0.020

    async def push(self, status):
        await asyncio.sleep(self.REPLY_DELAY)
        await super().push(status)


class SlowTimedSMTP(TimedSMTP):
    """TimedSMTP whose sessions (each new connection) are served by ``_SlowReplies``."""

    def start(self) -> "SlowTimedSMTP":
        super().start()
        ctl = self._controller  # aiosmtpd calls controller.factory() once per connection
        ctl.factory = lambda: _SlowReplies(ctl.handler, **ctl.SMTP_kwargs)
        return self


class TimedTelegram(FakeTelegram):
    def __init__(self, log: _Log):
        super().__init__()
        self.log = log

    def _m_sendMessage(self, params, files, ctypes):
        result = super()._m_sendMessage(params, files, ctypes)
        self.log.write("telegram", params.get("chat_id"), time.time())
        with self._lock:  # keep the request list short on long runs
            self.requests = [r for r in self.requests if r["status"] is None]
        return result

    def _send_file(self, method, params, files, ctypes):
        result = super()._send_file(method, params, files, ctypes)
        self.log.write("telegram", params.get("chat_id"), time.time())
        return result


def main(argv: list[str]) -> int:
    kind, path = argv
    log = _Log(path)
    if kind == "smtp":
        sink = TimedSMTP(log).start()
        info = {"port": sink.port}
    elif kind == "smtp-slow":
        sink = SlowTimedSMTP(log).start()
        info = {"port": sink.port, "reply_delay_ms": round(_SlowReplies.REPLY_DELAY * 1000)}
    elif kind == "telegram":
        sink = TimedTelegram(log).start()
        info = {"url": sink.url, "token": sink.token}
    else:
        raise SystemExit(f"unknown sink {kind!r}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    print(json.dumps(info), flush=True)
    stop.wait()
    sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
