"""Sending email with the effective SMTP settings (notifier.services.settings.mail()).

Why not ``mail.send()``: Flask-Mail 0.10 copies MAIL_* from app.config once at
``init_app``, so SMTP settings saved in the UI would be ignored, its
connection has no timeout, and it opens one per message. Here sessions are
opened from the current settings, with ``SMTP_TIMEOUT`` on the socket, and
notifications reuse them (SessionPool). Flask-Mail still builds the message.

The message is sent once the server answers 250 to DATA: what follows (QUIT)
can no longer unsend it, so a failure there is not an error, and the caller
can record the send before it (``on_accepted``).
"""
from __future__ import annotations

import re
import smtplib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr

from flask import current_app
from flask_mail import BadHeaderError, Message, sanitize_address, sanitize_addresses

from notifier.services import settings

__all__ = ["MailNotConfigured", "SessionPool", "pool", "send_message", "message_id", "error_text"]

# Message-IDs need a domain; without a usable sender address, a reserved one (RFC 2606).
FALLBACK_DOMAIN = "notifier.invalid"
_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")


class MailNotConfigured(RuntimeError):
    """No SMTP server (or no sender) is set, neither in the environment nor in the UI."""


def _open(cfg: settings.MailSettings, timeout: float) -> smtplib.SMTP:
    """A session to the configured server: TLS and login as set, a socket timeout always."""
    smtp_class = smtplib.SMTP_SSL if cfg.use_ssl else smtplib.SMTP
    host = smtp_class(cfg.server, cfg.port, timeout=timeout)
    try:
        if cfg.use_tls and not cfg.use_ssl:
            host.starttls()
        if cfg.username and cfg.password:
            host.login(cfg.username, cfg.password)
    except BaseException:
        host.close()
        raise
    return host


def _quit(host: smtplib.SMTP) -> None:
    """QUIT, and let a failure there pass: by then the server has the message
    or the send has failed already (that error is the one raised)."""
    try:
        host.quit()
    except (smtplib.SMTPException, OSError):
        host.close()


@dataclass
class _Session:
    host: smtplib.SMTP
    key: tuple
    sent: int = 0
    idle_since: float = 0.0


class SessionPool:
    """Open SMTP sessions kept for the next notification, per server settings.

    A session costs a TCP (and TLS) handshake, EHLO and AUTH: on a real server
    more than the message itself. Kept at most ``MAX_IDLE`` seconds unused
    (servers drop idle clients after 30 s to 5 min) and ``MAX_MESSAGES``
    messages; a session the server closed meanwhile shows at MAIL FROM, before
    anything of the message went out, and the message then goes on a new one.
    One pool per app (``pool(app)``), shared by the worker's threads; a
    session is used by one thread at a time.
    """

    MAX_IDLE = 30.0
    MAX_MESSAGES = 50

    def __init__(self):
        self._idle: list[_Session] = []
        self._lock = threading.Lock()

    def take(self, cfg: settings.MailSettings, timeout: float) -> tuple[_Session, bool]:
        """A session for ``cfg``, and whether it is a kept one (used before)."""
        key = (cfg.server, cfg.port, cfg.use_ssl, cfg.use_tls, cfg.username, cfg.password, timeout)
        stale, found = [], None
        now = time.monotonic()
        with self._lock:
            for session in list(self._idle):
                if now - session.idle_since > self.MAX_IDLE:
                    self._idle.remove(session)
                    stale.append(session)
                elif found is None and session.key == key:
                    self._idle.remove(session)
                    found = session
        for session in stale:
            _quit(session.host)
        if found is not None:
            return found, True
        return _Session(_open(cfg, timeout), key), False

    def give_back(self, session: _Session) -> None:
        session.sent += 1
        if session.sent >= self.MAX_MESSAGES:
            _quit(session.host)
            return
        session.idle_since = time.monotonic()
        with self._lock:
            self._idle.append(session)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for session in idle:
            _quit(session.host)


def pool(app=None) -> SessionPool:
    app = app or current_app
    return app.extensions.setdefault("smtp_sessions", SessionPool())


def send_message(msg: Message, on_accepted: Callable[[], None] | None = None, reuse: bool = False) -> None:
    """Send ``msg`` now; a message without a sender gets the configured one.

    ``on_accepted`` runs as soon as the server has accepted the message (250
    after DATA), before the session is closed or given back. ``reuse``: the
    session comes from and goes back to the app's SessionPool (notifications);
    without it a session of its own is opened and closed (the settings page's
    test, which must try the settings afresh). Raises MailNotConfigured,
    BadHeaderError (newline in a header), or the smtplib / OSError exception
    of the failure, untouched (4xx replies are ``SMTPResponseException`` with
    ``smtp_code`` 400-499: worth retrying); nothing after the acceptance
    raises but ``on_accepted`` itself.
    """
    cfg = settings.mail()
    if not cfg.configured:
        raise MailNotConfigured("SMTP-сервер не настроен")
    if not msg.sender:
        msg.sender = cfg.sender or cfg.username
    if msg.has_bad_headers():
        raise BadHeaderError
    if msg.date is None:
        msg.date = time.time()
    envelope = _Envelope(sanitize_address(msg.sender), list(sanitize_addresses(msg.send_to)), msg.as_bytes(),
                         list(msg.mail_options), list(msg.rcpt_options))
    timeout = float(current_app.config.get("SMTP_TIMEOUT", 15))
    if not reuse:
        host = _open(cfg, timeout)
        try:
            envelope.mail_from(host)
            envelope.deliver(host)
            if on_accepted is not None:
                on_accepted()
        finally:
            _quit(host)
        return
    sessions = pool()
    session, kept = sessions.take(cfg, timeout)
    try:
        envelope.mail_from(session.host)
    except (smtplib.SMTPException, OSError):
        session.host.close()
        if not kept:
            raise
        # A kept session that the server closed or refused meanwhile: nothing was
        # sent yet, so the message goes on a new one.
        session = _Session(_open(cfg, timeout), session.key)
        _or_close(session.host, envelope.mail_from)
    except BaseException:
        session.host.close()
        raise
    _or_close(session.host, envelope.deliver)
    sessions.give_back(session)
    if on_accepted is not None:
        on_accepted()


def _or_close(host: smtplib.SMTP, step: Callable[[smtplib.SMTP], None]) -> None:
    """Run a step of the conversation; a session that failed one is not kept."""
    try:
        step(host)
    except BaseException:
        host.close()
        raise


@dataclass(frozen=True)
class _Envelope:
    """smtplib's ``sendmail`` in two steps, so that a failure at MAIL FROM (nothing sent yet) is told apart."""

    sender: str
    recipients: list[str]
    data: bytes
    mail_options: list[str]
    rcpt_options: list[str]

    def mail_from(self, host: smtplib.SMTP) -> None:
        host.ehlo_or_helo_if_needed()
        options = list(self.mail_options)
        if host.does_esmtp and host.has_extn("size"):
            options.append(f"size={len(self.data)}")
        code, resp = host.mail(self.sender, options)
        if code != 250:
            if code != 421:
                host.rset()
            raise smtplib.SMTPSenderRefused(code, resp, self.sender)

    def deliver(self, host: smtplib.SMTP) -> None:
        refused = {}
        for rcpt in self.recipients:
            code, resp = host.rcpt(rcpt, self.rcpt_options)
            if code not in (250, 251):
                refused[rcpt] = (code, resp)
            if code == 421:
                host.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(self.recipients):
            host.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        code, resp = host.data(self.data)
        if code != 250:
            if code != 421:
                host.rset()
            raise smtplib.SMTPDataError(code, resp)


def message_id(key: str) -> str:
    """``<key@domain>`` with the domain of the configured sender address, so the
    same key always gives the same Message-ID (``email.utils.make_msgid`` is random)."""
    cfg = settings.mail()
    address = parseaddr(cfg.sender or cfg.username or "")[1]
    domain = address.rpartition("@")[2].lower() if "@" in address else ""
    return f"<{key}@{domain if _DOMAIN.match(domain) else FALLBACK_DOMAIN}>"


def error_text(exc: BaseException) -> str:
    """A short Russian description of a send failure, with the server's own words."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr}: {_reply(code, text)}" for addr, (code, text) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"Сервер не принял логин или пароль: {_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"Сервер ответил: {_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"Сервер не поддерживает нужную команду: {exc}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"Сервер разорвал соединение: {exc}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "Сервер не ответил вовремя (таймаут)"
    if isinstance(exc, ConnectionRefusedError):
        return "Соединение отклонено: сервер не принимает подключения на этом порту"
    if isinstance(exc, socket.gaierror):
        return f"Не удалось найти сервер по имени: {exc.strerror or exc}"
    if isinstance(exc, BadHeaderError):
        return "Перевод строки в заголовке письма"
    if isinstance(exc, MailNotConfigured):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()
