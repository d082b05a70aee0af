"""Russian words for the «Журнал»: decision reasons, call results, delivery and event statuses.

Pure (no Flask, no database), so the page and the API name every state the
same way. Decision reason texts are those of :mod:`notifier.core.decide`
(one place for them); this module adds what only the log needs.

The status of a whole event is one word with a precedence, so that the list
badge and the status filter always agree (see :func:`event_status`):
not yet processed > still sending (pending/retrying) > a failed delivery >
something sent > only skipped channels > nobody to notify.
"""
from __future__ import annotations

from collections.abc import Iterable

from notifier.core.decide import NOT_MISSED, NOT_MISSED_TEXTS, NOTIFY, REASONS

# --- decisions --------------------------------------------------------------


# decide's text for NOTIFY is a verdict («Уведомить»); the log shows it as a badge
# and states the reason here.
NOTIFY_REASON = "Событие подходит под правило сотрудника"


def reason_text(code: str, result: str | None = None) -> str:
    """The Russian text for a stored Decision.reason; the call result makes «не пропущен» precise."""
    if code == NOTIFY:
        return NOTIFY_REASON
    if code == NOT_MISSED and result in NOT_MISSED_TEXTS:
        return NOT_MISSED_TEXTS[result]
    return REASONS.get(code) or f"Неизвестная причина ({code})"


# --- events -----------------------------------------------------------------

EVENT_TYPES: dict[str, str] = {
    "call.ended": "Звонок",
    "voicemail.received": "Голосовая почта",
}

OUTGOING_CALL = "Исходящий звонок"  # a call.ended with direction "outgoing"

CALL_RESULTS: dict[str, str] = {
    "answered": "Принят",
    "no_answer": "Не ответили",
    "caller_hangup": "Звонящий положил трубку",
    "busy": "Занято",
    "rejected": "Отклонён",
    "unavailable": "Абонент недоступен",
    "answered_elsewhere": "Принят на другом номере",
    "failed": "Не состоялся",
}


def event_type_text(event_type: str) -> str:
    return EVENT_TYPES.get(event_type, event_type)


def result_text(event_type: str, result: str | None) -> str:
    """What happened to the call, e.g. «Пропущен: не ответили»; voicemail has no result."""
    if event_type == "voicemail.received":
        return "Оставлено сообщение"
    if not result:
        return "—"
    return CALL_RESULTS.get(result, result)


# --- deliveries -------------------------------------------------------------

CHANNELS: dict[str, str] = {"email": "Email", "telegram": "Telegram"}

PENDING, SENT, RETRYING, FAILED, SKIPPED = "pending", "sent", "retrying", "failed", "skipped"
STILL_SENDING = (PENDING, RETRYING)

DELIVERY_STATUSES: dict[str, str] = {
    PENDING: "В очереди",
    SENT: "Отправлено",
    RETRYING: "Повторная попытка",
    FAILED: "Ошибка",
    SKIPPED: "Пропущено",
}

# Badge tone for the page: the css classes of .badge in static/app.css.
TONES: dict[str, str] = {
    PENDING: "info", SENT: "ok", RETRYING: "warn", FAILED: "bad", SKIPPED: "",
}


def channel_text(channel: str) -> str:
    return CHANNELS.get(channel, channel)


def delivery_status_text(status: str) -> str:
    return DELIVERY_STATUSES.get(status, status)


# --- the whole event ----------------------------------------------------------

PROCESSING = "processing"
SENDING = "pending"
DELIVERY_FAILED = "failed"
NOTIFIED = "notified"
ONLY_SKIPPED = "skipped"
NOT_NOTIFIED = "not_notified"

# In precedence order; also the choices of the status filter.
EVENT_STATUSES: dict[str, str] = {
    PROCESSING: "Обрабатывается",
    SENDING: "Отправляется",
    DELIVERY_FAILED: "Ошибка доставки",
    NOTIFIED: "Уведомление отправлено",
    ONLY_SKIPPED: "Некуда отправить",
    NOT_NOTIFIED: "Без уведомления",
}

EVENT_TONES: dict[str, str] = {
    PROCESSING: "info", SENDING: "info", DELIVERY_FAILED: "bad", NOTIFIED: "ok",
    ONLY_SKIPPED: "warn", NOT_NOTIFIED: "",
}


def event_status(processed: bool, delivery_statuses: Iterable[str]) -> str:
    """One status for an event from whether it was processed and its deliveries' statuses.

    The SQL of the status filter (notifier.services.event_log) follows this same precedence.
    """
    if not processed:
        return PROCESSING
    statuses = set(delivery_statuses)
    if statuses & set(STILL_SENDING):
        return SENDING
    if FAILED in statuses:
        return DELIVERY_FAILED
    if SENT in statuses:
        return NOTIFIED
    if SKIPPED in statuses:
        return ONLY_SKIPPED
    return NOT_NOTIFIED


def event_status_text(status: str) -> str:
    return EVENT_STATUSES.get(status, status)


def is_pending(status: str) -> bool:
    """Whether the event's state may still change by itself (the page then refreshes)."""
    return status in (PROCESSING, SENDING)
