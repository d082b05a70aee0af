"""Sending email with the effective SMTP settings (notifier.services.settings.mail()).

Why not ``mail.send()``: Flask-Mail 0.10 copies MAIL_* from app.config once at
``init_app``, so SMTP settings saved in the UI would be ignored and its
connection has no timeout. Here a connection is built per send from the
current settings, with ``SMTP_TIMEOUT`` on the socket.

The message is sent once the server answers 250 to DATA: what follows (QUIT)
can no longer unsend it, so a failure there is not an error, and the caller
can record the send before it (``on_accepted``).
"""
from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Callable
from email.utils import parseaddr
from types import SimpleNamespace

from flask import current_app
from flask_mail import BadHeaderError, Connection, Message

from notifier.services import settings

__all__ = ["MailNotConfigured", "send_message", "message_id", "error_text"]

# Message-IDs need a domain; without a usable sender address, a reserved one (RFC 2606).
FALLBACK_DOMAIN = "notifier.invalid"
_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")


class MailNotConfigured(RuntimeError):
    """No SMTP server (or no sender) is set, neither in the environment nor in the UI."""


class _Connection(Connection):
    """Flask-Mail's connection, opened from MailSettings and with a socket timeout."""

    def __init__(self, cfg: settings.MailSettings, timeout: float):
        super().__init__(SimpleNamespace(suppress=False, max_emails=None))
        self.cfg, self.timeout = cfg, timeout

    def configure_host(self) -> smtplib.SMTP:
        cfg = self.cfg
        smtp_class = smtplib.SMTP_SSL if cfg.use_ssl else smtplib.SMTP
        host = smtp_class(cfg.server, cfg.port, timeout=self.timeout)
        try:
            if cfg.use_tls and not cfg.use_ssl:
                host.starttls()
            if cfg.username and cfg.password:
                host.login(cfg.username, cfg.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        """QUIT, and let a failure there pass: by then the server has the
        message or the send has failed already (that error is the one raised)."""
        if self.host is None:
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            self.host.close()


def send_message(msg: Message, on_accepted: Callable[[], None] | None = None) -> None:
    """Send ``msg`` now; a message without a sender gets the configured one.

    ``on_accepted`` runs as soon as the server has accepted the message (250
    after DATA), before the session is closed. Raises MailNotConfigured,
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
    with _Connection(cfg, float(current_app.config.get("SMTP_TIMEOUT", 15))) as conn:
        conn.send(msg)
        if on_accepted is not None:
            on_accepted()


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
