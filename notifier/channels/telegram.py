"""Telegram: the same content as the email, in Telegram HTML, to the linked chat.

Every user-supplied string is escaped (telegram_api.escape_html) and the text
is cut to the 4096 / 1024 (caption) limits with truncate_html, so a long
client name can neither break the markup nor get the message refused. A
voicemail recording goes with the text as its caption: sendVoice for
OGG/Opus (shown as a voice note), sendAudio for MP3, sendDocument otherwise.
Telegram's HTML links are meant for http(s) and tg: addresses, so instead of a
``tel:`` link the number is written in international form, which Telegram
apps recognise and make tappable themselves.
"""
from __future__ import annotations

from notifier.channels import Attempt, Permanent, Transient
from notifier.channels import checks as channel_checks
from notifier.channels.notification import MISSED_CALL, Notification
from notifier.channels.recordings import Recording
from notifier.models import Subscriber
from notifier.services import settings, telegram_threads
from notifier.telegram.api import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    TelegramPermanent,
    TelegramTransient,
    escape_html,
    truncate_html,
)


class TelegramChannel:
    name = "telegram"
    health_key = "telegram"

    def unavailable(self, subscriber: Subscriber) -> str | None:
        if not settings.telegram().configured:
            return "Telegram-бот не настроен"
        if subscriber.telegram_chat_id is None:
            reason = "Сотрудник не подключил Telegram"
            if subscriber.telegram_unlinked_reason:
                reason += f" (отвязан: {subscriber.telegram_unlinked_reason})"
            return reason
        return None

    def address(self, subscriber: Subscriber) -> str:
        return subscriber.telegram or str(subscriber.telegram_chat_id or "")

    def send(self, note: Notification, subscriber: Subscriber,
             recording: Recording | None, recording_error: str | None,
             attempt: Attempt | None = None) -> None:
        """One Bot API call: its answer is the acceptance. A missed call's message
        is kept to edit later (services.telegram_threads), which writes to the
        database after the send: ``attempt.accepted`` runs before that write."""
        api = channel_checks.bot()
        if api is None:
            raise Permanent("Telegram-бот не настроен")
        chat_id = subscriber.telegram_chat_id
        lines = render_lines(note, recording, recording_error)
        text = "\n".join(lines)
        try:
            if note.kind == MISSED_CALL and note.event_pk is not None:
                telegram_threads.deliver(api, note, subscriber, "\n".join(lines[1:]),
                                         on_sent=attempt.accepted if attempt else None)
            elif recording is None:
                api.send_message(chat_id, truncate_html(text, MESSAGE_LIMIT))
            else:
                caption = truncate_html(text, CAPTION_LIMIT)
                duration = note.duration_seconds
                if recording.is_ogg_opus:
                    api.send_voice(chat_id, recording.data, recording.filename, caption, duration)
                elif recording.content_type == "audio/mpeg":
                    api.send_audio(chat_id, recording.data, recording.filename, caption, duration)
                else:
                    api.send_document(chat_id, recording.data, recording.filename, caption)
        except TelegramTransient as exc:
            raise Transient(f"Telegram: {exc}", retry_after=exc.retry_after) from None
        except TelegramPermanent as exc:
            raise Permanent(f"Telegram: {exc}", unlink=exc.blocked) from None


def render(note: Notification, recording: Recording | None, recording_error: str | None) -> str:
    """The message in Telegram HTML; every value escaped."""
    return "\n".join(render_lines(note, recording, recording_error))


def render_lines(note: Notification, recording: Recording | None, recording_error: str | None) -> list[str]:
    """The message's lines in Telegram HTML, the title first; every value escaped."""
    e = escape_html
    caller = e(note.caller_number)
    if note.caller_name:
        caller += ", " + e(note.caller_name)
    if note.caller_vip:
        caller += ", <b>VIP</b>"
    lines = [f"<b>{e(note.title)}</b>", f"От: {caller}", f"Кому: {e(note.employee)}",
             f"Когда: {e(note.when_text)}"]
    if note.line:
        lines.append(f"Многоканальный номер: {e(note.line)}")
    if note.tel_uri:
        lines.append(f"Перезвонить: {e(note.tel_uri.removeprefix('tel:'))}")
    if note.is_voicemail:
        if note.duration_text:
            lines.append(f"Длительность: {e(note.duration_text)}")
        if recording_error:
            lines.append(f"<i>Запись не приложена: {e(recording_error)}</i>")
        elif recording is None:
            lines.append("<i>Запись не приложена: АТС не передала адрес записи</i>")
    return lines


CHANNEL = TelegramChannel()
