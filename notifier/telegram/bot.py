"""The bot's side of the conversation: commands, answers, update bookkeeping,
webhook mode and the bot's health as shown in Settings.

Every update, whether it came by long polling or by webhook, goes through
``process()``: its database effects and the new offset ("telegram_offset",
the next update_id to handle) are committed in one transaction, then the answer
is sent. So an update is handled at most once even across restarts, and one
whose handling failed (database down) is retried, not lost.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.exc import SQLAlchemyError

from notifier.channels import checks as channel_checks
from notifier.core.criteria import parse_criteria, summary
from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Subscriber
from notifier.services import settings, telegram_threads
from notifier.telegram import link
from notifier.telegram.api import (
    UPDATE_TYPES,
    BotAPI,
    TelegramError,
    TelegramPermanent,
    TelegramTransient,
    escape_html,
)

log = logging.getLogger(__name__)

OFFSET_KEY = "telegram_offset"  # {"bot_id": "123456", "next": <update_id to handle next>}
WEBHOOK_URL_KEY = "telegram_webhook_url"  # the app's public base address, set by the admin
WEBHOOK_SECRET_KEY = "telegram_webhook_secret"
OK_REFRESH_SECONDS = 600  # last_ok_at is rewritten at most this often while all is well

BLOCKED_REASON = "Бот заблокирован в Telegram"
STOP_REASON = "Сотрудник отключил уведомления командой /stop"

HOW_TO_LINK = ("Чтобы получать уведомления о пропущенных звонках и голосовых сообщениях, "
               "откройте персональную ссылку для подключения — её присылает администратор АТС.")
HELP = ("Я присылаю уведомления о пропущенных звонках и голосовых сообщениях АТС.\n\n"
        "/status — на что вы подписаны\n"
        "/stop — отключить уведомления в этом чате")


# -- the bot's client and health -------------------------------------------------

def record_error(err: TelegramError) -> None:
    """Show Telegram's own description in Settings; caller commits."""
    channel_checks.record(channel_checks.TELEGRAM, str(err))


def record_ok() -> bool:
    """Note a successful call (written after an error, else every OK_REFRESH_SECONDS)."""
    return channel_checks.record_ok_now_and_then(channel_checks.TELEGRAM, OK_REFRESH_SECONDS)


# -- answers ---------------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    chat_id: int
    text: str  # Telegram HTML, user-supplied parts escaped


def _who(subscriber: Subscriber) -> str:
    number = escape_html(subscriber.number)
    if subscriber.name:
        return f"<b>{escape_html(subscriber.name)}</b> (номер {number})"
    return f"с номером <b>{number}</b>"


def _subscriptions(subscriber: Subscriber) -> str:
    lines = []
    for rule in sorted(subscriber.rules, key=lambda r: r.id):
        try:
            lines.append("• " + escape_html(summary(parse_criteria(rule.criteria))))
        except FieldErrors:
            log.warning("rule %s has invalid criteria; not shown in the bot", rule.id)
    if not lines:
        return ("Уведомления для вас пока не настроены: их включит администратор АТС, "
                "и они начнут приходить в этот чат.")
    return "Вы будете получать уведомления:\n" + "\n".join(lines)


def _linked_text(subscriber: Subscriber) -> str:
    return (f"Готово! Этот чат подключён к абоненту {_who(subscriber)}.\n\n"
            f"{_subscriptions(subscriber)}\n\n"
            "Отключить уведомления — /stop, проверить подписку — /status.")


def _status_text(subscribers: list[Subscriber]) -> str:
    if not subscribers:
        return f"Этот чат не подключён к уведомлениям АТС.\n\n{HOW_TO_LINK}"
    return "\n\n".join(f"Этот чат подключён к абоненту {_who(s)}.\n\n{_subscriptions(s)}"
                       for s in subscribers)


def answer(update: dict) -> Reply | None:
    """Apply one update to the session (not committed) and return the answer.

    Only private chats are served: a group is never bound to an employee.
    """
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private" or not isinstance(chat.get("id"), int):
        return None
    chat_id = chat["id"]
    text = message.get("text")
    words = text.split() if isinstance(text, str) else []
    command = words[0].split("@", 1)[0].lower() if words and words[0].startswith("/") else None
    argument = words[1] if len(words) > 1 else ""

    if command == "/start" and argument:
        sender = message.get("from") if isinstance(message.get("from"), dict) else None
        subscriber = link.link_chat(argument, chat_id, sender)
        if subscriber is None:
            return Reply(chat_id, "К сожалению, эта ссылка недействительна или её срок истёк. "
                                  "Попросите администратора АТС прислать новую ссылку для подключения.")
        return Reply(chat_id, _linked_text(subscriber))
    if command == "/start":
        linked = link.subscribers_of_chat(chat_id)
        if linked:
            return Reply(chat_id, _status_text(linked))
        return Reply(chat_id, f"Здравствуйте! {HOW_TO_LINK}")
    if command == "/stop":
        unlinked = link.unlink_chat(chat_id, STOP_REASON)
        if not unlinked:
            return Reply(chat_id, "Этот чат и так не подключён к уведомлениям АТС.")
        who = ", ".join(_who(s) for s in unlinked)
        return Reply(chat_id, f"Уведомления для абонента {who} в этот чат отключены.\n\n"
                              "Чтобы подключиться снова, попросите у администратора АТС новую ссылку.")
    if command == "/status":
        return Reply(chat_id, _status_text(link.subscribers_of_chat(chat_id)))
    return Reply(chat_id, HELP)


# -- processing ------------------------------------------------------------------

def _bot_id() -> str | None:
    tg = settings.telegram()
    return tg.token.split(":", 1)[0] if tg.configured else None


def stored_offset() -> int | None:
    """The next update_id to handle, for the configured bot (another bot, after
    a token change, starts afresh instead of skipping its first updates)."""
    value = settings.get(OFFSET_KEY)
    if isinstance(value, dict) and value.get("bot_id") == _bot_id() and isinstance(value.get("next"), int):
        return value["next"]
    return None


def process(update: Any, api: BotAPI, max_wait: float, wait: Callable[[float], Any]) -> bool:
    """Handle one update once; False if it was already handled or is not an update.

    A failing database leaves the offset where it was (the caller retries the
    update later); any other error while answering skips this one update, so a
    malformed update cannot stall the bot.
    """
    update_id = update.get("update_id") if isinstance(update, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return False
    offset = stored_offset()
    if offset is not None and update_id < offset:
        return False
    pressed = None
    try:
        if "callback_query" in update:
            pressed = telegram_threads.press(update["callback_query"])
            reply = None
        else:
            reply = answer(update)
    except SQLAlchemyError:
        db.session.rollback()
        raise
    except Exception:
        db.session.rollback()
        log.exception("Telegram update %s could not be handled; skipped", update_id)
        reply = None
    settings.put(OFFSET_KEY, {"bot_id": _bot_id(), "next": update_id + 1})
    db.session.commit()
    if reply is not None:
        send(api, reply, max_wait, wait)
    if pressed is not None:
        answer_press(api, pressed)
    return True


def answer_press(api: BotAPI, pressed: telegram_threads.Press) -> None:
    """Answer the button (Telegram shows a spinner until then), then queue the
    message's edit: a job, so a 429 or an outage is retried like a send."""
    if pressed.query_id:
        try:
            api.answer_callback_query(pressed.query_id, pressed.answer or None)
        except TelegramError as e:  # too late (over ~15 s) or Telegram away: the edit still shows it
            log.warning("button press not answered: %s", e)
    if pressed.edit is not None:
        telegram_threads.enqueue_edits([pressed.edit])


def send(api: BotAPI, reply: Reply, max_wait: float, wait: Callable[[float], Any]) -> bool:
    """Send an answer. 429 is retried once after Telegram's retry_after when that
    is at most ``max_wait``; 403 (bot blocked) unlinks the chat; 401 (bad token)
    is reported in Settings. Returns True when the answer was delivered."""
    for attempt in (1, 2):
        try:
            api.send_message(reply.chat_id, reply.text)
            return True
        except TelegramTransient as e:
            if attempt == 1 and e.retry_after is not None and e.retry_after <= max_wait:
                wait(e.retry_after)
                continue
            log.warning("answer to a Telegram chat not sent: %s", e)
            return False
        except TelegramPermanent as e:
            if e.blocked:
                link.unlink_chat(reply.chat_id, f"{BLOCKED_REASON}: {e.description}")
            elif e.status in (401, 404):
                record_error(e)
            db.session.commit()
            log.warning("answer to a Telegram chat not sent: %s", e)
            return False
    return False


# -- webhook mode ------------------------------------------------------------------

def webhook_url() -> str | None:
    """The public base address in webhook mode; None in polling mode."""
    return settings.get(WEBHOOK_URL_KEY) or None


def webhook_secret() -> str | None:
    return settings.get(WEBHOOK_SECRET_KEY) or None


def enable_webhook(api: BotAPI, public_url: str, hook_url: str) -> None:
    """setWebhook with a fresh secret; the poller stops polling. Caller commits.

    max_connections=1: Telegram then delivers updates one by one, in order, as
    the offset bookkeeping in ``process()`` expects. Raises TelegramError.
    """
    secret = secrets.token_urlsafe(32)
    api.call("setWebhook", {"url": hook_url, "secret_token": secret, "max_connections": 1,
                            "allowed_updates": list(UPDATE_TYPES)})
    settings.put(WEBHOOK_URL_KEY, public_url)
    settings.put(WEBHOOK_SECRET_KEY, secret)


def upgrade_webhook(api: BotAPI) -> bool:
    """A webhook set before the bot had buttons (allowed_updates ["message"])
    gets no button presses: set it again, same address and secret, for
    UPDATE_TYPES. True when it was. Raises TelegramError."""
    info = api.get_webhook_info()
    allowed = info.get("allowed_updates")  # absent: Telegram's default, presses included
    secret = webhook_secret()
    if not info.get("url") or not secret or allowed is None or set(UPDATE_TYPES) <= set(allowed):
        return False
    api.call("setWebhook", {"url": info["url"], "secret_token": secret, "max_connections": 1,
                            "allowed_updates": list(UPDATE_TYPES)})
    log.info("Telegram webhook now also delivers %s", ", ".join(UPDATE_TYPES))
    return True


def disable_webhook(api: BotAPI | None) -> None:
    """deleteWebhook (pending updates kept for the poller) and back to polling.

    Without a token there is no webhook to delete. Raises TelegramError.
    """
    if api is not None:
        api.delete_webhook()
    settings.put(WEBHOOK_URL_KEY, None)
    settings.put(WEBHOOK_SECRET_KEY, None)

