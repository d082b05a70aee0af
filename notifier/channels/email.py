"""Email: an HTML + plain-text letter through notifier.channels.mailer, recording attached.

SMTP replies decide retrying: 4xx (greylisting, overload), dropped connections
and timeouts are transient; 5xx (no such mailbox, rejected) and a server that
cannot do what the settings ask (STARTTLS, login) are permanent until the
admin fixes something and presses «Повторить».
"""
from __future__ import annotations

import smtplib

from flask import current_app
from flask_mail import BadHeaderError, Message

from notifier.channels import Attempt, Permanent, Transient, mailer
from notifier.channels.notification import Notification, clean
from notifier.channels.recordings import Recording
from notifier.models import Subscriber
from notifier.services import settings


class EmailChannel:
    name = "email"
    health_key = "mail"

    def unavailable(self, subscriber: Subscriber) -> str | None:
        if not settings.mail().configured:
            return "Почта (SMTP) не настроена"
        if not self.address(subscriber):
            return "У сотрудника не указан email"
        return None

    def address(self, subscriber: Subscriber) -> str:
        address = clean(subscriber.email, 254)
        return address if address == (subscriber.email or "").strip() else ""

    def send(self, note: Notification, subscriber: Subscriber,
             recording: Recording | None, recording_error: str | None,
             attempt: Attempt | None = None) -> None:
        """Send the letter; with ``attempt``, its Message-ID is the delivery's own
        and ``attempt.accepted`` runs once the server has taken it (before QUIT)."""
        context = {"note": note, "recording": recording, "recording_error": recording_error}
        message = Message(
            subject=note.subject,
            recipients=[self.address(subscriber)],
            body=_render("notifications/email.txt", context),
            html=_render("notifications/email.html", context),
        )
        if recording is not None:
            message.attach(recording.filename, recording.content_type, recording.data)
        if attempt is not None:
            message.msgId = mailer.message_id(attempt.key)
        try:
            mailer.send_message(message, on_accepted=attempt.accepted if attempt else None, reuse=True)
        except Exception as exc:  # classified below; nothing escapes untyped
            raise classify(exc) from None


def _render(name: str, context: dict) -> str:
    """Render without request-bound context processors: jobs have no request."""
    return current_app.jinja_env.get_template(name).render(context)


def classify(exc: BaseException) -> Transient | Permanent:
    text = mailer.error_text(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return Permanent(text) if codes and all(c >= 500 for c in codes) else Transient(text)
    if isinstance(exc, smtplib.SMTPResponseException):
        return Permanent(text) if 500 <= exc.smtp_code < 600 else Transient(text)
    if isinstance(exc, (smtplib.SMTPNotSupportedError, BadHeaderError, mailer.MailNotConfigured)):
        return Permanent(text)
    # Dropped connections, timeouts, refused connections, DNS hiccups.
    return Transient(text)


CHANNEL = EmailChannel()
