"""The Telegram channel: Telegram HTML with every value escaped, within the limits."""
from datetime import datetime, timezone

import pytest

from notifier.channels import Permanent, Transient
from notifier.channels import telegram as tg_channel
from notifier.channels.notification import MISSED_CALL, VOICEMAIL, Notification
from notifier.channels.recordings import Recording
from notifier.models import Subscriber
from notifier.pipeline import delivery as dl
from notifier.telegram.api import CAPTION_LIMIT, MESSAGE_LIMIT, utf16_len

from .factories import configure_telegram, missed_call
from .factories import contact as add_contact
from .factories import deliveries as add_deliveries
from .notify_setup import delivery, linked_employee


def note(kind=MISSED_CALL, name="ООО Ромашка", employee="Иванов Иван"):
    return Notification(kind=kind, caller_number="+7 902 385-52-70", caller_name=name, caller_vip=True,
                        tel_uri="tel:+79023855270", employee_name=employee, employee_number="102",
                        when=datetime(2026, 11, 25, 10, 15, tzinfo=timezone.utc), timezone="Europe/Moscow",
                        line="+7 495 123-45-67", duration_seconds=65 if kind == VOICEMAIL else None,
                        recording_url=None)


def linked(chat_id=5551234):
    return Subscriber(number="102", number_key="102", name="x", telegram_chat_id=chat_id)


def test_message_content_is_escaped(app, fake_telegram):
    configure_telegram(fake_telegram)
    add_contact('<b>Рога & "Копыта"</b>', "+7 902 385-52-70", vip=True)
    sid = linked_employee(name="Петров <script>").id
    [tg_id] = add_deliveries(missed_call(), sid, channels=("telegram",))
    dl.deliver(tg_id)
    assert delivery(tg_id).status == "sent", delivery(tg_id).last_error
    [params] = fake_telegram.messages  # accepted: the fake parses the HTML as Telegram does
    assert params["parse_mode"] == "HTML" and params["chat_id"] == 5551234
    assert params["text"].splitlines() == [
        "<b>Пропущенный звонок</b>",
        "От: +7 902 385-52-70, &lt;b&gt;Рога &amp; &quot;Копыта&quot;&lt;/b&gt;, <b>VIP</b>",
        "Кому: Петров &lt;script&gt; (102)",
        "Когда: 25.11.2026 10:15",
        "Многоканальный номер: +7 495 123-45-67",
        "Перезвонить: +79023855270",
    ]


def test_long_text_is_cut_to_the_message_limit(app, fake_telegram):
    configure_telegram(fake_telegram)
    tg_channel.CHANNEL.send(note(name="<&>" * 3000), linked(), None, None)
    [params] = fake_telegram.messages
    assert utf16_len(params["text"]) <= MESSAGE_LIMIT and params["text"].endswith("…")


def test_long_caption_is_cut_to_the_caption_limit(app, fake_telegram):
    configure_telegram(fake_telegram)
    rec = Recording("vm.ogg", "audio/ogg", b"OggS" + b"\0" * 100)
    tg_channel.CHANNEL.send(note(VOICEMAIL, name="Рога & Копыта " * 100), linked(), rec, None)
    [voice] = fake_telegram.sent("sendVoice")
    assert utf16_len(voice["params"]["caption"]) <= CAPTION_LIMIT
    assert voice["params"]["caption"].startswith("<b>Голосовое сообщение</b>")


@pytest.mark.parametrize("kind, error, unlink", [
    ("429", Transient, False), ("500", Transient, False), ("502", Transient, False),
    ("400", Permanent, False), ("403", Permanent, True), ("401", Permanent, False),
])
def test_errors_are_typed(app, fake_telegram, kind, error, unlink):
    configure_telegram(fake_telegram)
    fake_telegram.fail_next(kind)
    with pytest.raises(error) as exc:
        tg_channel.CHANNEL.send(note(), linked(), None, None)
    assert getattr(exc.value, "unlink", False) is unlink
    assert fake_telegram.token not in str(exc.value)
    if kind == "429":
        assert exc.value.retry_after == 2


def test_unreachable_api_is_transient(app):
    app.config.update(TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_API_URL="http://127.0.0.1:1")
    with pytest.raises(Transient):
        tg_channel.CHANNEL.send(note(), linked(), None, None)
