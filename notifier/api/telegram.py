"""/api/v1 endpoints: an employee's Telegram link, and the bot's webhook."""
from __future__ import annotations

import hmac
import time

from flask import request

from notifier.api import ApiError, bp, token_exempt
from notifier.api.subscribers import get_or_404
from notifier.channels import checks as channel_checks
from notifier.extensions import db
from notifier.telegram import bot, link
from notifier.telegram.api import TelegramError

WEBHOOK_REPLY_WAIT = 5  # a web request waits at most this for Telegram's 429 retry_after


@bp.post("/subscribers/<int:subscriber_id>/telegram-link")
def telegram_link_create(subscriber_id: int):
    """A new personal deep link (the previous one stops working)."""
    subscriber = get_or_404(subscriber_id)
    try:
        url, expires_at = link.new_link(subscriber)
    except link.NotConfigured:
        raise ApiError(409, "Telegram-бот не настроен: укажите токен бота в настройках") from None
    except TelegramError as e:
        bot.record_error(e)
        db.session.commit()
        raise ApiError(502, f"Telegram не ответил на getMe: {e.description}") from None
    db.session.commit()
    return {"url": url, "expires_at": expires_at.isoformat(timespec="seconds")}


@bp.delete("/subscribers/<int:subscriber_id>/telegram-link")
def telegram_link_delete(subscriber_id: int):
    """Unlink the employee's chat and revoke an unused link."""
    subscriber = get_or_404(subscriber_id)
    link.revoke(subscriber, "Отвязан администратором")
    db.session.commit()
    return "", 204


@bp.post("/telegram/webhook")
@token_exempt
def telegram_webhook():
    """Updates pushed by Telegram in webhook mode, authenticated by the secret
    given to setWebhook (compared in constant time)."""
    secret = bot.webhook_secret()
    if secret is None:
        raise ApiError(404, "режим webhook для Telegram не включён")
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ApiError(403, "неверный секрет webhook Telegram")
    update = request.get_json(silent=True)
    if not isinstance(update, dict):
        raise ApiError(400, "тело запроса должно быть JSON-объектом")
    api = channel_checks.bot()
    if api is not None:
        bot.process(update, api, WEBHOOK_REPLY_WAIT, time.sleep)
    return {"ok": True}
