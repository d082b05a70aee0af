"""Russian words of the «Журнал»: every reason code, result and status has a label."""
import pytest

from notifier.core import decide, reasons
from notifier.core.events import RESULTS
from notifier.models import DELIVERY_STATUSES


@pytest.mark.parametrize("code, result, text", [
    ("notify", None, "Событие подходит под правило сотрудника"),
    ("outgoing", "no_answer", "Исходящий звонок сотрудника: о нём не уведомляют"),
    ("caller_hangup", "caller_hangup", "Звонящий положил трубку до окончания ожидания"),
    ("not_missed", "answered", "Вызов был принят"),
    ("not_missed", "answered_elsewhere", "Вызов принят на другом номере"),
    ("not_missed", "busy", "Абонент был занят"),
    ("not_missed", None, "Вызов не пропущен по истечении времени ожидания"),
    ("not_missed", "something_new", "Вызов не пропущен по истечении времени ожидания"),
    ("not_direct", "no_answer", "Вызов с многоканального номера не был переведён напрямую"),
    ("unknown_subscriber", "no_answer", "Номер не принадлежит абоненту АТС"),
    ("no_rule", None, "У абонента нет правил уведомлений"),
    ("type_not_selected", None, "Правила абонента не включают этот тип уведомлений"),
    ("outside_work_hours", None, "Вне рабочего времени"),
    ("inside_work_hours", None, "В рабочее время"),
    ("outside_period", None, "Вне заданного периода"),
    ("hidden_number", None, "Номер вызывающего абонента скрыт"),
    ("number_not_listed", None, "Номер не указан в правиле"),
    ("not_vip", None, "Номер не входит в VIP-номера"),
    ("a_code_from_the_future", None, "Неизвестная причина (a_code_from_the_future)"),
])
def test_reason_text(code, result, text):
    assert reasons.reason_text(code, result) == text


def test_every_reason_code_of_decide_has_a_text():
    not_reasons = ("MISSED_CALL", "VOICEMAIL", "CALL_ENDED", "VOICEMAIL_RECEIVED")
    codes = {value for name, value in vars(decide).items()
             if name.isupper() and isinstance(value, str) and name not in not_reasons}
    assert codes == set(decide.REASONS)
    for code in codes:
        assert not reasons.reason_text(code).startswith("Неизвестная")


@pytest.mark.parametrize("event_type, result, text", [
    ("call.ended", "no_answer", "Не ответили"),
    ("call.ended", "caller_hangup", "Звонящий положил трубку"),
    ("call.ended", "answered", "Принят"),
    ("call.ended", None, "—"),
    ("call.ended", "new_result", "new_result"),
    ("voicemail.received", None, "Оставлено сообщение"),
])
def test_result_text(event_type, result, text):
    assert reasons.result_text(event_type, result) == text


def test_every_call_result_and_delivery_status_has_a_label():
    assert set(RESULTS) == set(reasons.CALL_RESULTS)
    assert set(DELIVERY_STATUSES) == set(reasons.DELIVERY_STATUSES) == set(reasons.TONES)
    assert set(reasons.EVENT_STATUSES) == set(reasons.EVENT_TONES)


@pytest.mark.parametrize("status, text", [
    ("pending", "В очереди"), ("sent", "Отправлено"), ("retrying", "Повторная попытка"),
    ("failed", "Ошибка"), ("skipped", "Пропущено"), ("odd", "odd"),
])
def test_delivery_status_text(status, text):
    assert reasons.delivery_status_text(status) == text


@pytest.mark.parametrize("channel, text", [("email", "Email"), ("telegram", "Telegram"), ("sms", "sms")])
def test_channel_text(channel, text):
    assert reasons.channel_text(channel) == text


@pytest.mark.parametrize("processed, deliveries, status", [
    (False, [], "processing"),
    (False, ["sent"], "processing"),
    (True, [], "not_notified"),
    (True, ["pending"], "pending"),
    (True, ["sent", "retrying"], "pending"),
    (True, ["failed", "pending"], "pending"),
    (True, ["failed", "sent"], "failed"),
    (True, ["failed"], "failed"),
    (True, ["sent", "skipped"], "notified"),
    (True, ["sent", "sent"], "notified"),
    (True, ["skipped", "skipped"], "skipped"),
    (True, ["unknown"], "not_notified"),
])
def test_event_status_precedence(processed, deliveries, status):
    assert reasons.event_status(processed, deliveries) == status
    assert reasons.is_pending(status) == (status in ("processing", "pending"))


@pytest.mark.parametrize("status, text", [
    ("processing", "Обрабатывается"), ("pending", "Отправляется"), ("failed", "Ошибка доставки"),
    ("notified", "Уведомление отправлено"), ("skipped", "Некуда отправить"),
    ("not_notified", "Без уведомления"),
])
def test_event_status_text(status, text):
    assert reasons.event_status_text(status) == text
