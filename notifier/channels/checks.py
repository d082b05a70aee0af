"""Health of the notification channels (email, Telegram) as the settings page shows it.

The last outcome of a send is kept in the ``settings`` table ("mail_status",
"telegram_status"), so the status survives restarts and is the same for every
web process. The «Отправить тест» buttons use the same code as real
notifications: ``mailer.send_message`` and ``BotAPI``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import requests
from flask import current_app
from flask_mail import Message
from requests.adapters import HTTPAdapter

from notifier.channels import mailer
from notifier.extensions import db
from notifier.models import utcnow
from notifier.services import settings
from notifier.telegram.api import BotAPI, TelegramError

MAIL, TELEGRAM = "mail", "telegram"
_STATUS_KEYS = {MAIL: "mail_status", TELEGRAM: "telegram_status"}
_LABELS = {"unconfigured": "не настроено", "configured": "настроено",
           "working": "работает", "error": "последняя ошибка"}

TEST_SUBJECT = "Проверка почты — Уведомления АТС"
TEST_BODY = ("Это тестовое письмо из настроек «Уведомления АТС».\n"
             "Раз вы его получили, уведомления о пропущенных звонках по email будут доставляться.")
TEST_TELEGRAM_TEXT = ("Тестовое сообщение из настроек «Уведомления АТС». "
                      "Уведомления о пропущенных звонках в Telegram будут приходить сюда.")


@dataclass(frozen=True)
class ChannelStatus:
    state: str  # "unconfigured" | "configured" | "working" | "error"
    at: datetime | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        return _LABELS[self.state]


def status(channel: str, configured: bool) -> ChannelStatus:
    if not configured:
        return ChannelStatus("unconfigured")
    saved = settings.get(_STATUS_KEYS[channel]) or {}
    if not saved.get("at"):
        return ChannelStatus("configured")
    at = datetime.fromisoformat(saved["at"])
    return ChannelStatus("working", at) if saved.get("ok") else ChannelStatus("error", at, saved.get("error"))


def record(channel: str, error: str | None = None) -> None:
    """Remember the outcome of a send on ``channel`` (``error`` None = success); the caller commits."""
    settings.put(_STATUS_KEYS[channel], {"ok": error is None, "at": utcnow().isoformat(), "error": error})


def record_ok_now_and_then(channel: str, every_seconds: float) -> bool:
    """Record a success unless one was recorded recently and no error since.

    For the Telegram poller, which succeeds every 25 s: True if anything was written.
    """
    saved = settings.get(_STATUS_KEYS[channel]) or {}
    if saved.get("ok") and saved.get("at"):
        if (utcnow() - datetime.fromisoformat(saved["at"])).total_seconds() < every_seconds:
            return False
    record(channel)
    return True


def forget(channel: str) -> None:
    """New settings have not been tried yet: back to «настроено»."""
    settings.put(_STATUS_KEYS[channel], None)


def send_test_email(to: str) -> str | None:
    """Send the test email now; the error text, or None on success. Recorded and committed."""
    try:
        mailer.send_message(Message(TEST_SUBJECT, recipients=[to], body=TEST_BODY))
        error = None
    except Exception as exc:  # every failure is reported to the admin, none is a 500
        error = mailer.error_text(exc)
    record(MAIL, error)
    db.session.commit()
    return error


def bot() -> BotAPI | None:
    """A client for the configured bot, or None when no token is set.

    Its HTTP session is the app's one: connections to the Bot API are kept
    alive from one send to the next (a new TLS handshake per message cost more
    than the message), and the worker's threads share the pool."""
    cfg = settings.telegram()
    return BotAPI(cfg.token, cfg.api_url, session=_http()) if cfg.configured else None


def _http() -> requests.Session:
    session = current_app.extensions.get("telegram_http")
    if session is None:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=32)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session = current_app.extensions.setdefault("telegram_http", session)
    return session


def bot_username(token: str) -> str:
    """The bot's @name (without "@") from getMe; raises TelegramError for a bad token."""
    me = BotAPI(token, settings.telegram().api_url).get_me()
    return str(me.get("username") or "")


def send_test_telegram(chat_id: int) -> str | None:
    """Send the test message to a linked employee's chat; the error text or None. Recorded and committed."""
    api = bot()
    try:
        if api is None:
            raise TelegramError("токен бота не задан")
        api.send_message(chat_id, TEST_TELEGRAM_TEXT, parse_mode=None)
        error = None
    except TelegramError as exc:
        error = str(exc)
    record(TELEGRAM, error)
    db.session.commit()
    return error
