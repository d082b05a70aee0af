"""«Настройки» screen: email (SMTP), Telegram bot, connecting the PBX (the
adapters' cards, views.pbx, and the JSON webhook), API tokens.

Values from the environment win and are shown read-only; secrets are shown
back only masked (a new API token is shown once, in the answer to the POST
that made it, never through the session or a redirect). The webhook secret is
the admin's own, to paste into the PBX: «Показать» (a POST) renders it whole.
"""
from __future__ import annotations

import json
import re
from email.utils import parseaddr

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError

from notifier.channels import checks as channel_checks
from notifier.core import addresses, phones
from notifier.extensions import db
from notifier.services import api_tokens, event_log, settings, test_event
from notifier.services import subscribers as subscriber_service
from notifier.telegram.api import TelegramError, TelegramPermanent
from notifier.web.views import pbx as pbx_views

bp = Blueprint("settings", __name__, url_prefix="/settings")

SECURITY_CHOICES = [SelectChoice("starttls", "STARTTLS (обычно порт 587)"),
                    SelectChoice("ssl", "SSL/TLS (обычно порт 465)"),
                    SelectChoice("none", "Без шифрования (порт 25)")]
# Which MAIL_* environment variable fills which form field.
ENV_FIELDS = {"MAIL_SERVER": "server", "MAIL_PORT": "port", "MAIL_USE_TLS": "security",
              "MAIL_USE_SSL": "security", "MAIL_USERNAME": "username", "MAIL_PASSWORD": "password",
              "MAIL_DEFAULT_SENDER": "sender"}
HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
BOT_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,100}")
SAMPLE_EVENT = {  # docs/examples/missed-internal.json
    "id": "evt-0001", "type": "call.ended", "call_id": "call-7001",
    "started_at": "2026-11-25T10:15:03+03:00", "ended_at": "2026-11-25T10:15:33+03:00",
    "direction": "internal", "from": "101", "to": "102", "result": "no_answer", "ring_seconds": 30,
}
PORT_ERROR = "Порт — число от 1 до 65535"


def mask(secret: str | None, head: int = 4, tail: int = 4) -> str:
    """``1234…abcd``: enough to recognise a secret, too little to use it."""
    if not secret:
        return ""
    if len(secret) < head + tail + 8:
        return "••••••••"
    return f"{secret[:head]}…{secret[-tail:]}"


def _sender(form, field):
    name, addr = parseaddr(field.data or "")
    if field.data and (not addr or "@" not in addr or "\n" in field.data or "\r" in field.data):
        raise ValidationError("Укажите адрес: robot@example.com или «АТС <robot@example.com>»")


def _hostname(form, field):
    if field.data and not HOSTNAME.fullmatch(field.data):
        raise ValidationError("Неверное имя сервера")


class PortField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(PORT_ERROR) from None


class MailForm(FlaskForm):
    server = StringField("SMTP-сервер",
                         validators=[Optional(), Length(max=253, message="Не длиннее 253 символов"), _hostname])
    port = PortField("Порт", default=587, validators=[InputRequired("Укажите порт"), NumberRange(1, 65535, PORT_ERROR)])
    security = SelectField("Шифрование", choices=SECURITY_CHOICES, default="starttls")
    username = StringField("Пользователь", validators=[Optional(), Length(max=254, message="Не длиннее 254 символов")])
    password = PasswordField("Пароль", validators=[Optional(), Length(max=254, message="Не длиннее 254 символов")])
    clear_password = BooleanField("Удалить сохранённый пароль")
    sender = StringField("Отправитель",
                         validators=[Optional(), Length(max=254, message="Не длиннее 254 символов"), _sender])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.server.data and not self.sender.data and not self.username.data:
            self.sender.errors = [*self.sender.errors, "Укажите адрес отправителя"]
            return False
        return ok


class MailTestForm(FlaskForm):
    to = StringField("Кому", validators=[InputRequired("Укажите адрес"),
                                         Length(max=254, message="Не длиннее 254 символов"),
                                         Email("Неверный email", check_deliverability=False)])


class TelegramForm(FlaskForm):
    token = PasswordField("Токен бота", validators=[Optional(), Length(max=128, message="Не длиннее 128 символов")])

    def validate_token(self, field):
        if field.data and not BOT_TOKEN.fullmatch(field.data.strip()):
            raise ValidationError("Токен выглядит как 123456789:AAE…, его выдаёт @BotFather")


class TelegramTestForm(FlaskForm):
    subscriber = SelectField("Сотрудник", coerce=lambda v: int(v) if str(v).isdigit() else None,
                             validate_choice=False)

    def validate_subscriber(self, field):
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Выберите сотрудника, подключившего Telegram")


class TestEventForm(FlaskForm):
    number = StringField("Номер абонента", validators=[InputRequired("Укажите номер абонента, например 101"),
                                                          Length(max=64, message="Не длиннее 64 символов")],
                         render_kw={"list": "test-event-numbers", "placeholder": "101"})
    kind = SelectField("Тип события", choices=[SelectChoice(test_event.MISSED, "Пропущенный звонок"),
                                           SelectChoice(test_event.VOICEMAIL, "Голосовая почта")],
                       default=test_event.MISSED)

    def validate_number(self, field):
        key = phones.normalize(field.data)
        if not key or subscriber_service.by_key(key) is None:
            raise ValidationError("Сотрудника с таким номером нет: добавьте его в разделе «Абоненты»")


class TokenForm(FlaskForm):
    name = StringField("Название", validators=[InputRequired("Укажите название, например «Скрипт АТС»"),
                                                Length(max=100, message="Не длиннее 100 символов")])


@bp.get("/")
def index():
    return _page()


# -- email ----------------------------------------------------------------------

@bp.post("/mail")
def save_mail():
    form = MailForm(prefix="mail")
    cfg = settings.mail()
    env_fields = {ENV_FIELDS[k] for k in cfg.from_env}
    form.validate()
    for name in env_fields:  # shown read-only: neither validated nor saved
        form[name].errors = []
    if any(field.errors for field in form):
        return _page(mail_form=form), 422
    saved = dict(settings.get(settings.MAIL_KEY) or {})
    new = dict(saved)
    for name, values in _mail_values(form).items():
        if name not in env_fields:
            new.update(values)
    if "password" not in env_fields and (form.password.data or form.clear_password.data):
        new["password"] = form.password.data or None  # empty: keep the saved one
    if new != saved:
        settings.put(settings.MAIL_KEY, new)
        channel_checks.forget(channel_checks.MAIL)
    db.session.commit()
    flash("Настройки почты сохранены.", "success")
    return redirect(url_for("settings.index") + "#mail")


def _mail_values(form: MailForm) -> dict[str, dict]:
    """The "mail" setting's values, per form field (the password is handled apart)."""
    def text(field):
        return (field.data or "").strip() or None

    return {
        "server": {"server": text(form.server)},
        "port": {"port": form.port.data},
        "security": {"use_tls": form.security.data == "starttls", "use_ssl": form.security.data == "ssl"},
        "username": {"username": text(form.username)},
        "sender": {"sender": text(form.sender)},
    }


@bp.post("/mail/test")
def test_mail():
    form = MailTestForm(prefix="mailtest")
    if not form.validate():
        return _page(mail_test_form=form), 422
    error = channel_checks.send_test_email(form.to.data.strip())
    if error:
        flash(f"Письмо не отправлено: {error}", "error")
    else:
        flash(f"Тестовое письмо отправлено на {form.to.data.strip()}.", "success")
    return redirect(url_for("settings.index") + "#mail")


# -- Telegram -------------------------------------------------------------------

@bp.post("/telegram")
def save_telegram():
    form = TelegramForm(prefix="tg")
    if settings.telegram().token_from_env:
        flash("Токен бота задан в окружении (TELEGRAM_BOT_TOKEN) и здесь не меняется.", "error")
        return redirect(url_for("settings.index") + "#telegram")
    if form.validate() and form.token.data:
        token = form.token.data.strip()
        try:
            username = channel_checks.bot_username(token)
        except TelegramPermanent as exc:
            form.token.errors.append(f"Telegram не принял токен: {exc.description}")
        except TelegramError as exc:
            form.token.errors.append(f"Не удалось связаться с Telegram: {exc.description}. Повторите позже.")
        else:
            settings.put(settings.TELEGRAM_KEY, {"token": token, "username": username})
            channel_checks.forget(channel_checks.TELEGRAM)
            db.session.commit()
            flash(f"Бот @{username} подключён.", "success")
            return redirect(url_for("settings.index") + "#telegram")
    elif not form.errors:
        form.token.errors.append("Вставьте токен от @BotFather")
    return _page(telegram_form=form), 422


@bp.post("/telegram/remove")
def remove_telegram():
    if not settings.telegram().token_from_env:
        settings.put(settings.TELEGRAM_KEY, None)
        channel_checks.forget(channel_checks.TELEGRAM)
        db.session.commit()
        flash("Бот отключён: уведомления в Telegram отправляться не будут.", "success")
    return redirect(url_for("settings.index") + "#telegram")


@bp.post("/telegram/test")
def test_telegram():
    form = TelegramTestForm(prefix="tgtest")
    form.subscriber.choices = _linked_choices()
    if not form.validate():
        return _page(telegram_test_form=form), 422
    subscriber = subscriber_service.get(form.subscriber.data)
    error = channel_checks.send_test_telegram(subscriber.telegram_chat_id)
    name = subscriber.name or subscriber.number
    if error:
        flash(f"Сообщение не отправлено: {error}", "error")
    else:
        flash(f"Тестовое сообщение отправлено: {name}.", "success")
    return redirect(url_for("settings.index") + "#telegram")


# -- webhook ----------------------------------------------------------------------

@bp.post("/webhook/secret")
def regenerate_secret():
    if current_app.config.get("WEBHOOK_SECRET_FROM_ENV"):
        flash("Секрет задан в окружении (WEBHOOK_SECRET) и здесь не меняется.", "error")
        return redirect(url_for("settings.index") + "#webhook")
    return _page(new_secret=settings.regenerate_webhook_secret())


@bp.post("/webhook/secret/show")
def show_secret():
    """The whole secret, on demand (a POST: never in a URL, a link preview or
    the page by default); the page is not cached (security: no-store)."""
    return _page(shown_secret=settings.webhook_secret())


@bp.post("/webhook/test-event")
def send_test_event():
    """«Отправить тестовое событие»: signed and taken in like a PBX's (services.test_event),
    then the event in «Журнал», where the worker's decision and deliveries appear."""
    form = TestEventForm(prefix="testevent")
    if not form.validate():
        return _page(test_event_form=form), 422
    outcome = test_event.send(form.number.data, form.kind.data)
    if outcome.event_pk is None:
        answer = json.dumps(outcome.answer, ensure_ascii=False)
        flash(f"Тестовое событие не принято ({outcome.status}): {answer}", "error")
        return redirect(url_for("settings.index") + "#webhook")
    flash(f"Тестовое событие {outcome.answer['id']} принято и поставлено в очередь. "
          "Решение и отправки появятся ниже, когда его обработает worker (обновите страницу).", "success")
    return redirect(url_for("log.detail", pk=outcome.event_pk))


# -- API tokens -----------------------------------------------------------------

@bp.post("/tokens")
def create_token():
    form = TokenForm(prefix="token")
    if not form.validate():
        return _page(token_form=form), 422
    name = form.name.data.strip()
    return _page(new_token=api_tokens.create(name), new_token_name=name)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    row = api_tokens.revoke(token_id)
    if row is not None:
        flash(f"Токен «{row.name}» отозван.", "success")
    return redirect(url_for("settings.index") + "#tokens")


# -- page -----------------------------------------------------------------------

def _linked_choices() -> list[tuple[int, str]]:
    return [SelectChoice(s.id, f"{s.name} ({s.number})" if s.name else s.number)
            for s in subscriber_service.telegram_linked()]


def _mail_form() -> MailForm:
    cfg = settings.mail()
    security = "ssl" if cfg.use_ssl else "starttls" if cfg.use_tls else "none"
    if not cfg.server:
        security = "starttls"
    return MailForm(formdata=None, prefix="mail", server=cfg.server, port=cfg.port if cfg.server else 587,
                    security=security, username=cfg.username, sender=cfg.sender)


def _events_url() -> str:
    return settings.public_url() + url_for("api.receive_event")


def _example(url: str, secret: str | None) -> dict:
    body = json.dumps(SAMPLE_EVENT, ensure_ascii=False, separators=(",", ":"))
    return {"url": url, "body": body, "secret": secret or "whsec_…"}


def _page(**ctx):
    mail = settings.mail()
    telegram = settings.telegram()
    secret = settings.webhook_secret()
    telegram_test_form = ctx.pop("telegram_test_form", None) or TelegramTestForm(formdata=None, prefix="tgtest")
    telegram_test_form.subscriber.choices = _linked_choices()
    events_url = _events_url()
    return render_template(
        "settings/index.html",
        mail=mail, mail_env={ENV_FIELDS[k] for k in mail.from_env},
        mail_status=channel_checks.status(channel_checks.MAIL, mail.configured),
        mail_form=ctx.pop("mail_form", None) or _mail_form(),
        mail_test_form=ctx.pop("mail_test_form", None) or MailTestForm(formdata=None, prefix="mailtest"),
        telegram=telegram, telegram_status=channel_checks.status(channel_checks.TELEGRAM, telegram.configured),
        telegram_form=ctx.pop("telegram_form", None) or TelegramForm(formdata=None, prefix="tg"),
        telegram_test_form=telegram_test_form,
        events_url=events_url, secret_masked=mask(secret, head=10),
        secret_from_env=bool(current_app.config.get("WEBHOOK_SECRET_FROM_ENV")),
        example=_example(events_url, ctx.get("new_secret") or ctx.get("shown_secret")),
        test_event_form=ctx.pop("test_event_form", None) or TestEventForm(formdata=None, prefix="testevent"),
        test_event_numbers=subscriber_service.numbers_for_choice(),
        events_url_local=addresses.is_loopback_url(events_url),
        last_event_at=event_log.last_received_at(),
        tokens=api_tokens.active(), env_api_token=bool(current_app.config.get("API_TOKEN")),
        token_form=ctx.pop("token_form", None) or TokenForm(formdata=None, prefix="token"),
        pbx_cards=pbx_views.cards(ctx.pop("pbx_failed", None)),
        public_url_set=bool(current_app.config.get("PUBLIC_URL")),
        mask=mask, **ctx,
    )
