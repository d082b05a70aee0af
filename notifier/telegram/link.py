"""Linking an employee (Subscriber) to their own Telegram chat.

The admin makes a personal deep link ``https://t.me/<bot>?start=<token>``; the
employee presses Start and the bot receives ``/start <token>``. The token is
one-time, lives LINK_TTL, and only its SHA-256 digest is stored, so a database
dump cannot be used to link someone else's chat.

Decision: one chat belongs to one employee. Linking a chat that was linked to
another employee moves it (the other one is unlinked, with the reason shown to
the admin), so /status and /stop always speak about exactly one employee.

Functions change the session; the caller commits (the bot commits the change
together with the update offset, see notifier.telegram.bot).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_mail import BadHeaderError, Message
from sqlalchemy import select

from notifier.channels.mailer import send_message
from notifier.extensions import db
from notifier.models import Setting, Subscriber, utcnow
from notifier.services import settings
from notifier.telegram.api import BotAPI
from notifier.web.security import token_digest

LINK_TTL = timedelta(days=7)
REASON_MAX = 200  # Subscriber.telegram_unlinked_reason


class NotConfigured(Exception):
    """No bot token: there is no bot to link to."""


def bot_username() -> str:
    """The bot's @name (without "@"): from the settings, else asked once from getMe.

    A name saved from getMe is remembered with the bot id it belongs to, so a
    new token (another bot) is asked again instead of linking to the old bot.
    Raises NotConfigured, or TelegramError when getMe fails.
    """
    tg = settings.telegram()
    if not tg.configured:
        raise NotConfigured()
    bot_id = tg.token.split(":", 1)[0]
    saved = settings.get(settings.TELEGRAM_KEY, {}) or {}
    if tg.username and (current_app.config.get("TELEGRAM_BOT_USERNAME")
                        or saved.get("username_bot_id") in (None, bot_id)):
        return tg.username
    me = BotAPI(tg.token, tg.api_url).get_me()
    save_bot_state(username=me["username"], username_bot_id=bot_id)
    return me["username"]


def save_bot_state(**values) -> dict:
    """Set keys of the "telegram" setting, keeping the others (token...); caller commits.

    The row is re-read under a row lock (PostgreSQL) so that a status update
    from the poller cannot overwrite a token the admin has just saved.
    """
    row = db.session.get(Setting, settings.TELEGRAM_KEY, with_for_update=True, populate_existing=True)
    state = dict(row.value or {}) if row is not None and isinstance(row.value, dict) else {}
    state.update(values)
    settings.put(settings.TELEGRAM_KEY, state)
    return state


def new_link(subscriber: Subscriber) -> tuple[str, datetime]:
    """A fresh deep link for ``subscriber``; the previous one stops working.

    The bot's name is resolved first, so a failure leaves the old link valid.
    token_urlsafe(32) gives 43 characters of A-Za-z0-9_- (Telegram allows 64).
    """
    username = bot_username()
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + LINK_TTL
    subscriber.telegram_link_token_hash = token_digest(token)
    subscriber.telegram_link_expires_at = expires_at
    return link_url(username, token), expires_at


def link_url(username: str, token: str) -> str:
    return f"https://t.me/{username}?start={token}"


def pending_token_valid(subscriber: Subscriber, token: str) -> bool:
    """Is ``token`` the subscriber's current, unexpired link token?"""
    found = _by_token(token)
    return found is not None and found.id == subscriber.id


def _by_token(token: str) -> Subscriber | None:
    if not token or len(token) > 64:
        return None
    found = db.session.scalar(
        select(Subscriber).where(Subscriber.telegram_link_token_hash == token_digest(token)))
    if found is None or found.telegram_link_expires_at is None or found.telegram_link_expires_at <= utcnow():
        return None
    return found


def link_chat(token: str, chat_id: int, user: dict | None = None) -> Subscriber | None:
    """Bind ``chat_id`` to the employee whose valid link token this is.

    Returns None for a wrong, used or expired token (nothing changes). ``user``
    is Telegram's ``from`` object: its @username fills Subscriber.telegram when
    the admin left it empty (so search by Telegram finds the employee).
    """
    subscriber = _by_token(token)
    if subscriber is None:
        return None
    for other in subscribers_of_chat(chat_id):
        if other.id != subscriber.id:
            unlink(other, f"Чат привязан к другому абоненту ({subscriber.number})")
    subscriber.telegram_chat_id = chat_id
    subscriber.telegram_linked_at = utcnow()
    subscriber.telegram_unlinked_reason = None
    subscriber.telegram_link_token_hash = None
    subscriber.telegram_link_expires_at = None
    username = (user or {}).get("username")
    if username and not subscriber.telegram:
        subscriber.telegram = "@" + str(username)[:63]
    return subscriber


def subscribers_of_chat(chat_id: int) -> list[Subscriber]:
    return list(db.session.scalars(
        select(Subscriber).where(Subscriber.telegram_chat_id == chat_id).order_by(Subscriber.id)))


def unlink(subscriber: Subscriber, reason: str) -> None:
    """Forget the chat; ``reason`` is shown to the admin until the next link."""
    subscriber.telegram_chat_id = None
    subscriber.telegram_linked_at = None
    subscriber.telegram_unlinked_reason = reason[:REASON_MAX]


def revoke(subscriber: Subscriber, reason: str) -> None:
    """The admin's «Отвязать»: unlink and also void a link not used yet."""
    unlink(subscriber, reason)
    subscriber.telegram_link_token_hash = None
    subscriber.telegram_link_expires_at = None


def unlink_chat(chat_id: int, reason: str) -> list[Subscriber]:
    """Unlink whoever uses ``chat_id`` -- e.g. after Telegram answered 403 (blocked)."""
    found = subscribers_of_chat(chat_id)
    for subscriber in found:
        unlink(subscriber, reason)
    return found


# -- sending the link by email -------------------------------------------------

def send_link_email(subscriber: Subscriber, url: str, expires_at: datetime) -> None:
    """Email the link to the employee with the SMTP settings in effect now.

    Raises MailNotConfigured, ValueError (no usable address) or OSError /
    smtplib.SMTPException (the server refused or is unreachable).
    """
    address = (subscriber.email or "").strip()
    if not address or "\n" in address or "\r" in address:
        raise ValueError("no email address")
    context = {"subscriber": subscriber, "url": url, "expires_at": expires_at}
    message = Message(
        subject="Подключение уведомлений АТС в Telegram",
        recipients=[address],
        body=render_template("telegram/link_email.txt", **context),
        html=render_template("telegram/link_email.html", **context),
    )
    try:
        send_message(message)
    except BadHeaderError:
        raise ValueError("bad email address") from None

