"""The morning digest's content and its sending by email and Telegram.

One view-model (:class:`DigestNote`) built from the stored digest; the email
templates (``notifications/digest.*``, autoescaped HTML) and the Telegram HTML
(every value through ``escape_html``) only lay it out. Names and numbers pass
through ``notification.clean``, as in a single notification. The send
functions raise the channels' Transient / Permanent like ``channel.send``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_mail import Message
from sqlalchemy import select

from notifier.channels import Permanent, Transient, mailer
from notifier.channels import checks as channel_checks
from notifier.channels.email import classify
from notifier.channels.notification import HIDDEN_CALLER, clean
from notifier.core import localtime, phones
from notifier.extensions import db
from notifier.models import MissedCall, MorningDigest, Subscriber
from notifier.services import contacts, settings
from notifier.telegram.api import MESSAGE_LIMIT, TelegramPermanent, TelegramTransient, escape_html, truncate_html

TITLE = "Утренняя сводка"
TELEGRAM_LISTED = 40  # a line is up to ~100 characters; 40 stay well within 4096


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian noun form for ``n``: 1 звонок, 2 звонка, 5 звонков, 21 звонок, 11 звонков."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


@dataclass(frozen=True)
class Call:
    when: datetime  # company time
    caller_number: str  # formatted, or HIDDEN_CALLER
    caller_name: str | None
    vip: bool
    tel_uri: str | None

    @property
    def when_text(self) -> str:
        return self.when.strftime("%d.%m %H:%M")

    @property
    def caller(self) -> str:
        parts = [self.caller_number] + ([self.caller_name] if self.caller_name else [])
        return ", ".join(parts)


@dataclass(frozen=True)
class DigestNote:
    employee: str
    since: datetime | None  # company time
    until: datetime
    total: int
    calls: list[Call]  # newest first

    @property
    def count_text(self) -> str:
        """«3 пропущенных звонка»."""
        n = self.total
        return f"{n} {plural(n, 'пропущенный звонок', 'пропущенных звонка', 'пропущенных звонков')}"

    @property
    def period_text(self) -> str:
        until = self.until.strftime("%d.%m.%Y %H:%M")
        return f"с {self.since:%d.%m.%Y %H:%M} до {until}" if self.since else f"до {until}"

    @property
    def subject(self) -> str:
        return clean(f"{TITLE}: {self.count_text} за нерабочее время", 250)

    @property
    def more(self) -> int:
        return self.total - len(self.calls)


def build(digest: MorningDigest, subscriber: Subscriber) -> DigestNote:
    """The digest's calls as stored (rows deleted since are left out), newest first."""
    zone = settings.schedule().timezone
    ids = [i for i in digest.missed_call_ids if isinstance(i, int)]
    rows = {row.id: row for row in db.session.scalars(select(MissedCall).where(MissedCall.id.in_(ids)))} if ids else {}
    found = [rows[i] for i in ids if i in rows]
    owners = contacts.owners(sorted({r.caller_key for r in found if r.caller_key}))
    calls = []
    for row in found:
        contact = owners.get(row.caller_key) if row.caller_key else None
        calls.append(Call(
            when=localtime.in_zone(row.missed_at, zone)[0],
            caller_number=clean(phones.display(row.caller_key), 64) if row.caller_key else HIDDEN_CALLER,
            caller_name=clean(contact.name) if contact and contact.name else None,
            vip=bool(row.vip or (contact is not None and contact.vip)),
            tel_uri=phones.tel_uri(row.caller_key) if row.caller_key else None,
        ))
    employee = clean(subscriber.name) or clean(subscriber.number, 64)
    if subscriber.name and clean(subscriber.name) != clean(subscriber.number, 64):
        employee = f"{clean(subscriber.name)} ({clean(subscriber.number, 64)})"
    since = localtime.in_zone(digest.window_start, zone)[0] if digest.window_start else None
    total = max(digest.total - (len(ids) - len(found)), len(calls))
    return DigestNote(employee, since, localtime.in_zone(digest.window_end, zone)[0], total, calls)


# -- email -------------------------------------------------------------------------

def send_email(note: DigestNote, address: str, key: str, on_accepted: Callable[[], None] | None = None) -> None:
    """The letter (HTML + text); Message-ID from ``key``, so a resend is recognisably the same."""
    env = current_app.jinja_env
    message = Message(subject=note.subject, recipients=[address],
                      body=env.get_template("notifications/digest.txt").render(note=note),
                      html=env.get_template("notifications/digest.html").render(note=note))
    message.msgId = mailer.message_id(key)
    try:
        mailer.send_message(message, on_accepted=on_accepted)
    except Exception as exc:  # classified as for a single notification
        raise classify(exc) from None


# -- Telegram ----------------------------------------------------------------------

def render_telegram(note: DigestNote) -> str:
    """Telegram HTML; every value escaped."""
    e = escape_html
    lines = [f"<b>{TITLE}</b>", f"{e(note.employee)}: {e(note.count_text)} за нерабочее время",
             f"<i>{e(note.period_text)}</i>", ""]
    for n, call in enumerate(note.calls[:TELEGRAM_LISTED], 1):
        caller = e(call.caller) + (", <b>VIP</b>" if call.vip else "")
        lines.append(f"{n}. {e(call.when_text)} — {caller}")
    more = note.total - min(len(note.calls), TELEGRAM_LISTED)
    if more > 0:
        lines.append(f"… и ещё {more}")
    return "\n".join(lines)


def send_telegram(note: DigestNote, chat_id: int) -> None:
    api = channel_checks.bot()
    if api is None:
        raise Permanent("Telegram-бот не настроен")
    try:
        api.send_message(chat_id, truncate_html(render_telegram(note), MESSAGE_LIMIT))
    except TelegramTransient as exc:
        raise Transient(f"Telegram: {exc}", retry_after=exc.retry_after) from None
    except TelegramPermanent as exc:
        raise Permanent(f"Telegram: {exc}", unlink=exc.blocked) from None
