"""Telegram in the admin UI: an employee's personal link (as an htmx fragment
for the «Абоненты» screen, or a page without JavaScript) and the bot's
webhook mode at /settings/telegram-webhook.

Blueprint ``telegram`` with full paths, so that it shares the /subscribers/
and /settings/ prefixes without clashing with those sections' blueprints.
"""
from __future__ import annotations

import smtplib
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import URLField
from wtforms.validators import DataRequired, Length, ValidationError

from notifier.channels import checks as channel_checks
from notifier.channels import mailer
from notifier.extensions import db
from notifier.models import Subscriber
from notifier.telegram import bot, link
from notifier.telegram.api import TelegramError
from notifier.web import htmx

bp = Blueprint("telegram", __name__)

CHANGED_EVENT = "telegram-link-changed"  # HX-Trigger: «Абоненты» reloads its list (the rows show the link state)


def _subscriber(subscriber_id: int) -> Subscriber:
    return db.session.get(Subscriber, subscriber_id) or abort(404)


def _render(subscriber: Subscriber, status: int = 200, url: str | None = None, expires_at=None,
            message: str | None = None, kind: str = "success", changed: bool = False,
            to_settings: bool = False):
    """The link block as an htmx fragment, or inside a page for plain form posts.
    ``to_settings`` adds a link to Settings after the message."""
    template = "telegram/_link.html" if htmx.is_request() else "telegram/link.html"
    body = render_template(template, subscriber=subscriber, url=url, expires_at=expires_at,
                           message=message, kind=kind, to_settings=to_settings,
                           token=url.rsplit("=", 1)[1] if url else None)
    return body, status, htmx.headers(trigger=CHANGED_EVENT if changed else None)


def _link(subscriber: Subscriber, token: str = ""):
    """((url, expires_at), None) -- the link of ``token`` while it is the
    subscriber's valid one, else a new link -- or (None, error answer)."""
    try:
        if link.pending_token_valid(subscriber, token):
            made = link.link_url(link.bot_username(), token), subscriber.telegram_link_expires_at
        else:
            made = link.new_link(subscriber)
    except link.NotConfigured:
        return None, _render(subscriber, 422, kind="error", to_settings=True,
                             message="Telegram-бот не настроен: укажите токен бота в разделе «Настройки».")
    except TelegramError as e:
        bot.record_error(e)
        db.session.commit()
        return None, _render(subscriber, 422, kind="error", to_settings=True,
                             message=f"Telegram не ответил: {e.description}. Проверьте токен бота в настройках.")
    db.session.commit()
    return made, None


@bp.post("/subscribers/<int:subscriber_id>/telegram-link")
def create_link(subscriber_id: int):
    subscriber = _subscriber(subscriber_id)
    made, error = _link(subscriber)
    if error:
        return error
    return _render(subscriber, url=made[0], expires_at=made[1])


@bp.post("/subscribers/<int:subscriber_id>/telegram-link/email")
def email_link(subscriber_id: int):
    """Email the link shown in the block (its token comes back in a hidden
    field), or a new one when that is gone or expired."""
    subscriber = _subscriber(subscriber_id)
    if not subscriber.email:
        return _render(subscriber, 422, kind="error", message="У абонента не указан email.")
    made, error = _link(subscriber, request.form.get("token", ""))
    if error:
        return error
    url, expires_at = made
    try:
        link.send_link_email(subscriber, url, expires_at)
    except mailer.MailNotConfigured:
        return _render(subscriber, 422, url=url, expires_at=expires_at, kind="error", to_settings=True,
                       message="Отправка email не настроена: укажите SMTP-сервер в разделе «Настройки». "
                               "Скопируйте ссылку и перешлите её сотруднику сами.")
    except ValueError:
        return _render(subscriber, 422, url=url, expires_at=expires_at, kind="error",
                       message="Неверный email абонента.")
    except (OSError, smtplib.SMTPException) as e:
        return _render(subscriber, 422, url=url, expires_at=expires_at, kind="error",
                       message=f"Письмо не отправлено: {mailer.error_text(e)}")
    return _render(subscriber, url=url, expires_at=expires_at,
                   message=f"Ссылка отправлена на {subscriber.email}.")


@bp.post("/subscribers/<int:subscriber_id>/telegram-unlink")
def unlink(subscriber_id: int):
    subscriber = _subscriber(subscriber_id)
    link.revoke(subscriber, "Отвязан администратором")
    db.session.commit()
    if not htmx.is_request():
        flash(f"Telegram абонента {subscriber.number} отвязан.", "success")
        return redirect(url_for("subscribers.index"))
    return _render(subscriber, message="Telegram отвязан.", changed=True)


# -- webhook mode -------------------------------------------------------------------

class WebhookForm(FlaskForm):
    public_url = URLField("Публичный адрес приложения", validators=[
        DataRequired("Укажите адрес"), Length(max=200, message="Слишком длинный адрес")])

    def validate_public_url(self, field):
        parts = urlsplit(field.data.strip())
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise ValidationError("Нужен адрес вида https://notify.example.com (Telegram принимает только HTTPS)")


def _hook_url(public_url: str) -> str:
    return public_url.strip().rstrip("/") + url_for("api.telegram_webhook")


@bp.route("/settings/telegram-webhook", methods=["GET", "POST"])
def webhook():
    form = WebhookForm()
    api = channel_checks.bot()
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        if api is None:
            form.public_url.errors.append("Сначала укажите токен Telegram-бота в настройках")
        else:
            public_url = form.public_url.data.strip().rstrip("/")
            try:
                bot.enable_webhook(api, public_url, _hook_url(public_url))
            except TelegramError as e:
                form.public_url.errors.append(f"Telegram не принял адрес: {e.description}")
            else:
                db.session.commit()
                flash("Webhook включён: Telegram будет присылать сообщения боту на этот адрес.", "success")
                return redirect(url_for("telegram.webhook"))
        status = 422
    elif request.method == "POST":
        status = 422
    username = _bot_name() if api is not None else None
    current = bot.webhook_url()
    if current and not form.public_url.data:
        form.public_url.data = current
    return render_template("telegram/webhook.html", title="Telegram: получение сообщений", form=form,
                           current=current, hook_url=_hook_url(current) if current else None,
                           configured=api is not None, health=_health(), username=username,
                           path=url_for("api.telegram_webhook")), status


def _bot_name() -> str | None:
    """The bot's @name (one getMe the first time, which also checks the token)."""
    try:
        username = link.bot_username()
    except TelegramError as e:
        bot.record_error(e)
        username = None
    db.session.commit()
    return username


def _health() -> channel_checks.ChannelStatus:
    return channel_checks.status(channel_checks.TELEGRAM, configured=True)


@bp.post("/settings/telegram-webhook/off")
def webhook_off():
    try:
        bot.disable_webhook(channel_checks.bot())
    except TelegramError as e:
        flash(f"Telegram не выключил webhook: {e.description}", "error")
    else:
        db.session.commit()
        flash("Webhook выключен: бот снова получает сообщения через long polling.", "success")
    return redirect(url_for("telegram.webhook"))
