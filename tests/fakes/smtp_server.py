"""In-process SMTP server (aiosmtpd) that records mail and can fail on demand.

Why: email delivery code (smtplib / Flask-Mail) is tested over a real socket,
including 4xx/5xx replies and a server that is down, without a mail relay.
No TLS: point the app at it with STARTTLS/SSL disabled. AUTH PLAIN/LOGIN is
offered without TLS and accepts any credentials unless ``credentials`` is set.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeSMTP:
    """SMTP on 127.0.0.1:<free port>; ``.messages`` are parsed EmailMessages.

    Each message also carries the envelope as attributes: ``mail_from``
    (str) and ``rcpt_tos`` (list[str]) -- Bcc recipients only appear there.
    """

    def __init__(self, credentials: tuple[str, str] | None = None):
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.credentials = credentials
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._controller: Controller | None = None
        self._clear()

    def _clear(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: list[EmailMessage] = []  # messages whose DATA got an injected failure
        self.rejections: list[tuple[str, int]] = []  # (stage, code) per injected failure
        self.logins: list[str] = []
        self.quits: list[str] = []  # "answered" or "dropped", per QUIT received
        self.sessions = 0  # EHLOs received: one per session the client opened
        self._open: set = set()  # the transports of sessions still open
        self._failures: list[dict] = []
        self._drops: list[Callable[[], None] | None] = []

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> "FakeSMTP":
        if self._controller:
            return self
        last_error: Exception | None = None
        for _ in range(5):  # the port may be taken between probe and bind
            controller = Controller(
                _Handler(self), hostname=self.host, port=self.port,
                authenticator=self._authenticate, auth_require_tls=False,
                ready_timeout=5.0)
            try:
                controller.start()
            except OSError as e:
                last_error = e
                self.port = _free_port()
                continue
            self._controller = controller
            return self
        raise RuntimeError(f"FakeSMTP could not start: {last_error}")

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "FakeSMTP":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def refuse_connections(self) -> None:
        """Simulate the server being down: connecting now gets ECONNREFUSED."""
        self.stop()

    def accept_connections(self) -> None:
        """Come back up on the same port (so the app's config stays valid)."""
        port = self.port
        self.start()
        assert self.port == port, "port was taken while the server was down"

    # -- test controls ----------------------------------------------------------
    def fail_next(self, code: int = 451, count: int = 1, message: str = "Try again later",
                  stage: str = "DATA") -> None:
        """Answer the next ``count`` DATA (or ``stage="RCPT"``) commands with ``code``.

        4xx is what a greylisting/overloaded server sends (retry); 5xx is final.
        """
        stage = stage.upper()
        if stage not in ("DATA", "RCPT"):
            raise ValueError("stage must be 'DATA' or 'RCPT'")
        with self._lock:
            self._failures.append({"code": int(code), "count": count,
                                   "message": message, "stage": stage})

    def drop_at_quit(self, count: int = 1, before: Callable[[], None] | None = None) -> None:
        """For the next ``count`` sessions, cut the connection at QUIT without an answer,
        after the message was accepted: the client sees the server vanish. ``before``
        runs first, in the server's thread (to look at what the client did meanwhile)."""
        with self._lock:
            self._drops.extend([before] * count)

    def close_sessions(self) -> int:
        """Drop every open session without a word, as a server does to clients
        idle too long; how many there were."""
        with self._lock:
            transports, self._open = list(self._open), set()
        loop = self._controller.loop if self._controller else None
        for transport in transports:
            if loop is not None:
                loop.call_soon_threadsafe(transport.abort)
        return len(transports)

    def reset(self) -> None:
        with self._cond:
            self._clear()
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5) -> list[EmailMessage]:
        """Block until ``count`` messages arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} message(s), got {len(self.messages)}: "
                        f"{[m['Subject'] for m in self.messages]}")
                self._cond.wait(left)
            return list(self.messages)

    # -- called from the aiosmtpd thread ---------------------------------------------
    def _take_failure(self, stage: str) -> str | None:
        with self._lock:
            for f in self._failures:
                if f["stage"] == stage and f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self._failures.remove(f)
                    self.rejections.append((stage, f["code"]))
                    return f"{f['code']} {f['message']}"
        return None

    def _take_drop(self) -> tuple[bool, Callable[[], None] | None]:
        with self._lock:
            if not self._drops:
                self.quits.append("answered")
                return False, None
            self.quits.append("dropped")
            return True, self._drops.pop(0)

    def _record(self, envelope, refused: bool = False) -> None:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        msg.mail_from = envelope.mail_from
        msg.rcpt_tos = list(envelope.rcpt_tos)
        with self._cond:
            (self.refused if refused else self.messages).append(msg)
            self._cond.notify_all()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = self.credentials is None or (login, password) == tuple(self.credentials)
        if ok:
            with self._lock:
                self.logins.append(login)
        return AuthResult(success=ok, handled=False)


class _Handler:
    def __init__(self, fake: FakeSMTP):
        self.fake = fake

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.fake._lock:
            self.fake.sessions += 1
            self.fake._open.add(server.transport)
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        failure = self.fake._take_failure("RCPT")
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        failure = self.fake._take_failure("DATA")
        if failure:
            self.fake._record(envelope, refused=True)
            return failure
        self.fake._record(envelope)
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        drop, before = self.fake._take_drop()
        if not drop:
            return MISSING  # aiosmtpd answers 221 as usual
        if before is not None:
            before()
        server.transport.abort()  # no 221: the connection is simply gone
        return "221 (never sent)"
