"""End to end: one Telegram message per missed caller, the «Перезвоню» button,
edits instead of new messages; signed events -> real Redis -> the shipped
worker -> the Telegram double (tests/fakes/telegram_server.py; Bot API formats
cited there)."""
import threading

import pytest

from notifier.extensions import db
from notifier.models import Delivery, Subscriber, TelegramMessage, TelegramMessageEvent
from notifier.pipeline import delivery as dl
from notifier.services import telegram_threads
from notifier.telegram.poller import Poller

from .factories import contact as add_contact
from .factories import deliveries as add_deliveries
from .factories import missed_call, voicemail
from .notify_setup import notified_employee, run_jobs
from .webhook_signing import post_event

CHAT = 5551234  # notify_setup.linked_employee's chat


@pytest.fixture
def employee(app, smtp_server, fake_telegram):
    app.config["DELIVERY_RETRY_BASE"] = 1
    return notified_employee(smtp_server, fake_telegram, ("missed_calls", "voicemail")).id


def at(minute: int) -> str:
    return f"2026-11-25T10:{minute:02d}:03+03:00"


def telegram_statuses() -> list[str]:
    db.session.expire_all()
    return [d.status for d in db.session.query(Delivery).filter_by(channel="telegram").order_by(Delivery.id)]


def press(app, tg, message_id: int, data: str, chat_id: int = CHAT, from_user: dict | None = None) -> dict:
    """A press of the button pushed as a callback_query update, handled by one poller step."""
    update = tg.push_callback(chat_id, message_id, data, from_user=from_user)
    p = Poller(app, poll_timeout=0)
    try:
        assert p.step() == 0
    finally:
        p.release()
    db.session.expire_all()
    return update["callback_query"]


def test_missed_call_message_carries_the_button(app, client, employee, fake_telegram):
    assert post_event(client, missed_call()).status_code == 202
    run_jobs(app)
    [message] = fake_telegram.messages
    [msg] = db.session.query(TelegramMessage).all()
    assert message["reply_markup"] == {"inline_keyboard": [[{"text": "Перезвоню", "callback_data": f"cb:{msg.id}"}]]}
    assert message["text"].startswith("<b>Пропущенный звонок</b>\nОт: +7 902 385-52-70")
    assert (msg.chat_id, msg.missed_count, msg.state, msg.caller_key) == (CHAT, 1, "open", "+79023855270")
    assert fake_telegram.shown(CHAT, msg.message_id)["text"].startswith("Пропущенный звонок\nОт:")
    assert telegram_statuses() == ["sent"]


def test_voicemail_has_no_button_and_no_thread(app, client, employee, fake_telegram):
    assert post_event(client, voicemail()).status_code == 202
    run_jobs(app)
    [message] = fake_telegram.messages
    assert "reply_markup" not in message and db.session.query(TelegramMessage).count() == 0


def test_repeat_missed_call_edits_the_message_instead_of_sending(app, client, employee, fake_telegram,
                                                                smtp_server):
    assert post_event(client, missed_call("evt-1", started_at=at(0))).status_code == 202
    run_jobs(app)
    assert post_event(client, missed_call("evt-2", caller="8 (902) 385-52-70", started_at=at(15))).status_code == 202
    assert post_event(client, missed_call("evt-3", caller="79023855270", started_at=at(9))).status_code == 202
    run_jobs(app)
    assert len(fake_telegram.sent("sendMessage")) == 1
    edits = [r["params"] for r in fake_telegram.sent("editMessageText")]
    assert len(edits) == 2
    [msg] = db.session.query(TelegramMessage).all()
    shown = fake_telegram.shown(CHAT, msg.message_id)
    assert shown["text"].startswith("3 пропущенных от +7 902 385-52-70, последний в 10:15\n")
    assert "Когда: 25.11.2026 10:15" in shown["text"]  # the latest call's details, whatever the order
    assert shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"cb:{msg.id}"
    assert telegram_statuses() == ["sent", "sent", "sent"]
    kinds = sorted(r.kind for r in db.session.query(TelegramMessageEvent))
    assert kinds == ["sent", "update", "update"]
    assert len(smtp_server.messages) == 3  # email stays one message per event


def test_other_caller_or_other_employee_gets_its_own_message(app, client, employee, fake_telegram):
    assert post_event(client, missed_call("evt-1", started_at=at(0))).status_code == 202
    assert post_event(client, missed_call("evt-2", caller="+7 903 000-00-01", started_at=at(1))).status_code == 202
    run_jobs(app)
    assert len(fake_telegram.sent("sendMessage")) == 2 and fake_telegram.sent("editMessageText") == []


def test_hidden_numbers_are_never_joined(app, client, employee, fake_telegram):
    assert post_event(client, missed_call("evt-1", caller="anonymous", started_at=at(0))).status_code == 202
    assert post_event(client, missed_call("evt-2", caller="", started_at=at(1))).status_code == 202
    run_jobs(app)
    assert len(fake_telegram.sent("sendMessage")) == 2


def test_a_retried_delivery_counts_its_call_once(app, employee, fake_telegram):
    first = add_deliveries(missed_call("evt-1", started_at=at(0)), employee, channels=("telegram",))
    second = add_deliveries(missed_call("evt-2", started_at=at(5)), employee, channels=("telegram",))
    dl.enqueue(first + second)
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    note_event = db.session.get(Delivery, second[0]).event
    from notifier.channels import checks
    from notifier.channels.notification import build
    from notifier.channels.telegram import render_lines

    sub = db.session.get(Subscriber, employee)
    note = build(note_event, sub)
    telegram_threads.deliver(checks.bot(), note, sub, "\n".join(render_lines(note, None, None)[1:]))
    db.session.expire_all()
    assert db.session.get(TelegramMessage, msg.id).missed_count == 2
    assert len(fake_telegram.sent("sendMessage")) == 1 and len(fake_telegram.sent("editMessageText")) == 1
    assert first and telegram_statuses() == ["sent", "sent"]


def test_429_on_the_edit_is_retried(app, client, employee, fake_telegram):
    assert post_event(client, missed_call("evt-1", started_at=at(0))).status_code == 202
    run_jobs(app)
    fake_telegram.fail_next("429", method="editMessageText", retry_after=1)
    assert post_event(client, missed_call("evt-2", started_at=at(5))).status_code == 202
    run_jobs(app)
    assert [r["status"] for r in fake_telegram.requests if r["method"] == "editMessageText"] == [429, 200]
    assert len(fake_telegram.sent("sendMessage")) == 1
    db.session.expire_all()
    assert telegram_statuses() == ["sent", "sent"]
    [later] = db.session.query(Delivery).filter_by(channel="telegram").order_by(Delivery.id.desc()).limit(1)
    assert later.attempts == 2


def test_message_that_can_no_longer_be_edited_is_left_alone_and_the_call_gets_a_new_one(
        app, client, employee, fake_telegram):
    assert post_event(client, missed_call("evt-1", started_at=at(0))).status_code == 202
    run_jobs(app)
    [old] = db.session.query(TelegramMessage).all()
    fake_telegram.make_uneditable(CHAT, old.message_id)
    assert post_event(client, missed_call("evt-2", started_at=at(5))).status_code == 202
    run_jobs(app)
    assert len(fake_telegram.sent("sendMessage")) == 2 and fake_telegram.sent("editMessageText") == []
    assert fake_telegram.shown(CHAT, old.message_id)["text"].startswith("Пропущенный звонок")
    db.session.expire_all()
    states = sorted((m.state, m.missed_count) for m in db.session.query(TelegramMessage))
    assert states == [("gone", 1), ("open", 1)] or states == [("gone", 2), ("open", 1)]
    assert telegram_statuses() == ["sent", "sent"]
    assert post_event(client, missed_call("evt-3", started_at=at(7))).status_code == 202
    run_jobs(app)  # the new message takes the next repeat call
    assert len(fake_telegram.sent("sendMessage")) == 2 and len(fake_telegram.sent("editMessageText")) == 1


def test_two_repeat_calls_at_once_send_one_message(app, employee, fake_telegram):
    ids = [add_deliveries(missed_call(f"evt-{i}", started_at=at(i)), employee, channels=("telegram",))[0]
           for i in (1, 2)]
    fake_telegram.latency["sendMessage"] = 0.5  # the first send is in flight while the other call comes
    start = threading.Barrier(2)
    errors = []

    def worker(delivery_id):
        try:
            start.wait()
            with app.app_context():
                dl.deliver(delivery_id)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(telegram_statuses()) == ["retrying", "sent"]  # one waited for the other's message
    dl.enqueue(ids)
    run_jobs(app)  # ... and then joins it
    db.session.expire_all()
    assert len(fake_telegram.sent("sendMessage")) == 1
    [msg] = db.session.query(TelegramMessage).all()
    assert msg.missed_count == 2
    assert fake_telegram.shown(CHAT, msg.message_id)["text"].startswith("2 пропущенных от +7 902 385-52-70")
    assert telegram_statuses() == ["sent", "sent"]


# -- the button ---------------------------------------------------------------------

def test_pressing_the_button_records_it_edits_the_message_and_answers(app, client, employee, fake_telegram):
    assert post_event(client, missed_call()).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    query = press(app, fake_telegram, msg.message_id, f"cb:{msg.id}")
    assert fake_telegram.callbacks[query["id"]]["answered"]["text"] == "Отмечено: вы перезвоните клиенту."
    db.session.expire_all()
    msg = db.session.get(TelegramMessage, msg.id)
    assert msg.taken_by == "Иванов Иван" and msg.taken_at is not None
    run_jobs(app)
    shown = fake_telegram.shown(CHAT, msg.message_id)
    assert shown["text"].endswith("\n📞 Перезвонит: Иванов Иван") and shown["reply_markup"] is None
    assert len(fake_telegram.sent("sendMessage")) == 1
    # Pressed again (an old client still shows the button): answered, nothing changes.
    query = press(app, fake_telegram, msg.message_id, f"cb:{msg.id}")
    assert fake_telegram.callbacks[query["id"]]["answered"]["text"] == "Уже отмечено: перезвонит Иванов Иван."
    run_jobs(app)
    assert len(fake_telegram.sent("editMessageText")) == 1


@pytest.mark.parametrize("case", ["unknown id", "other message", "garbage", "other chat", "huge id"])
def test_forged_or_stale_presses_are_answered_and_change_nothing(app, client, employee, fake_telegram, case):
    assert post_event(client, missed_call()).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    message_id, data, chat = msg.message_id, f"cb:{msg.id}", CHAT
    if case == "unknown id":
        data = f"cb:{msg.id + 1}"
    elif case == "other message":
        message_id += 1
    elif case == "garbage":
        data = "cb:1; DROP TABLE"
    elif case == "other chat":
        chat = 777  # a chat linked to nobody that somehow shows the button
    else:
        data = "cb:99999999999"
    query = press(app, fake_telegram, message_id, data, chat_id=chat)
    assert fake_telegram.callbacks[query["id"]]["answered"]["text"]  # answered in every case
    db.session.expire_all()
    assert db.session.get(TelegramMessage, msg.id).taken_by is None
    run_jobs(app)
    assert fake_telegram.sent("editMessageText") == []


def test_press_by_a_chat_not_linked_to_an_employee_changes_nothing(app, client, employee, fake_telegram):
    assert post_event(client, missed_call()).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    sub = db.session.get(Subscriber, employee)
    sub.telegram_chat_id = None  # /stop meanwhile
    db.session.commit()
    query = press(app, fake_telegram, msg.message_id, f"cb:{msg.id}")
    assert fake_telegram.callbacks[query["id"]]["answered"]["text"] == "Этот чат не подключён к уведомлениям АТС."
    db.session.expire_all()
    assert db.session.get(TelegramMessage, msg.id).taken_by is None


def test_names_are_escaped_in_every_edit(app, client, smtp_server, fake_telegram):
    app.config["DELIVERY_RETRY_BASE"] = 1
    notified_employee(smtp_server, fake_telegram, name="<b>Петров</b> & Ко")
    add_contact("ООО <Ромашка> & сыновья", "+7 902 385-52-70", vip=True)
    assert post_event(client, missed_call("evt-1", started_at=at(0))).status_code == 202
    assert post_event(client, missed_call("evt-2", started_at=at(4))).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    press(app, fake_telegram, msg.message_id, f"cb:{msg.id}")
    run_jobs(app)
    shown = fake_telegram.shown(CHAT, msg.message_id)["text"]
    assert "ООО <Ромашка> & сыновья" in shown and shown.endswith("Перезвонит: <b>Петров</b> & Ко")
    last = fake_telegram.sent("editMessageText")[-1]["params"]["text"]
    assert "&lt;b&gt;Петров&lt;/b&gt; &amp; Ко" in last


def test_press_on_a_message_that_can_no_longer_be_edited_leaves_it_alone(app, client, employee, fake_telegram):
    assert post_event(client, missed_call()).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    fake_telegram.make_uneditable(CHAT, msg.message_id)
    press(app, fake_telegram, msg.message_id, f"cb:{msg.id}")
    run_jobs(app)
    assert fake_telegram.sent("editMessageText") == [] and len(fake_telegram.sent("sendMessage")) == 1
    db.session.expire_all()
    assert db.session.get(TelegramMessage, msg.id).state == "gone"


def test_sweep_queues_an_edit_whose_job_was_lost(app, client, employee, fake_telegram):
    from datetime import timedelta

    from notifier.models import utcnow
    from notifier.pipeline import outbox

    assert post_event(client, missed_call()).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    db.session.execute(db.update(TelegramMessage).values(version=TelegramMessage.version + 1,
                                                         taken_by="Петров"))
    db.session.commit()  # changed, but no job queued (Redis lost it)
    assert outbox.sweep(utcnow() + timedelta(minutes=1))["telegram_edits"] == 1
    run_jobs(app)
    assert fake_telegram.shown(CHAT, msg.message_id)["text"].endswith("Перезвонит: Петров")


# -- the callback state (services.missed_calls) ---------------------------------------

def outgoing(event_id: str, minute: int, by: str = "101", to: str = "+7 902 385-52-70", **extra) -> dict:
    """An employee calls the client back (events.md: direction "outgoing")."""
    return {"id": event_id, "type": "call.ended", "started_at": at(minute), "direction": "outgoing",
            "from": by, "to": to, "result": "answered", **extra}


@pytest.fixture
def petrov(app):
    from .factories import subscriber

    return subscriber(number="101", name="Петров", email=None).id


def test_called_back_by_an_outgoing_call_edits_the_message(app, client, employee, petrov, fake_telegram):
    assert post_event(client, missed_call("evt-1", started_at=at(15))).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    assert post_event(client, outgoing("evt-out", 27, to="8 902 385 52 70")).status_code == 202
    run_jobs(app)
    shown = fake_telegram.shown(CHAT, msg.message_id)
    assert shown["text"].endswith("\n✅ Перезвонили: Петров, 10:27, через 12 мин")
    assert shown["reply_markup"] is None
    [edit] = fake_telegram.sent("editMessageText")
    assert "<b>✅ Перезвонили: Петров, 10:27, через 12 мин</b>" in edit["params"]["text"]
    assert len(fake_telegram.sent("sendMessage")) == 1
    # The call is closed: the same client's next missed call starts a new message.
    assert post_event(client, missed_call("evt-2", started_at=at(40))).status_code == 202
    run_jobs(app)
    assert len(fake_telegram.sent("sendMessage")) == 2 and len(fake_telegram.sent("editMessageText")) == 1


def test_called_back_after_repeat_calls_counts_from_the_first(app, client, employee, petrov, fake_telegram):
    assert post_event(client, missed_call("evt-1", started_at=at(0))).status_code == 202
    assert post_event(client, missed_call("evt-2", started_at=at(10))).status_code == 202
    run_jobs(app)
    assert post_event(client, outgoing("evt-out", 42)).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    text = fake_telegram.shown(CHAT, msg.message_id)["text"]
    assert text.startswith("2 пропущенных от +7 902 385-52-70, последний в 10:10")
    assert text.endswith("✅ Перезвонили: Петров, 10:42, через 42 мин")
    assert len(fake_telegram.sent("sendMessage")) == 1


def test_the_caller_getting_through_later_closes_it_too(app, client, employee, petrov, fake_telegram):
    assert post_event(client, missed_call("evt-1", started_at=at(15))).status_code == 202
    run_jobs(app)
    answered = missed_call("evt-in", to="101", started_at=at(20), result="answered", routing="group")
    assert post_event(client, answered).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    assert fake_telegram.shown(CHAT, msg.message_id)["text"].endswith("✅ Перезвонили: Петров, 10:20, через 5 мин")


def test_closed_by_hand_says_so(app, client, employee, fake_telegram):
    from notifier.models import MissedCall
    from notifier.services import missed_calls

    assert post_event(client, missed_call()).status_code == 202
    run_jobs(app)
    [row] = db.session.query(MissedCall).all()
    # What services.missed_calls' «Закрыть» does: the conditional UPDATE, then its listeners.
    db.session.execute(db.update(MissedCall).where(MissedCall.id == row.id).values(
        status="closed", resolved_how="manual", resolved_at=row.missed_at, resolved_by_user_email="admin@example.com"))
    db.session.commit()
    missed_calls.changed([row.id])
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    shown = fake_telegram.shown(CHAT, msg.message_id)
    assert shown["text"].endswith("\n☑️ Закрыт вручную") and shown["reply_markup"] is None


def test_called_back_before_the_message_went_out_is_said_at_once(app, client, employee, petrov, fake_telegram):
    """Both events processed before the delivery ran (a backlog, Telegram down):
    the one message already says it, without the button, and nothing is edited."""
    assert post_event(client, missed_call("evt-1", started_at=at(15))).status_code == 202
    assert post_event(client, outgoing("evt-out", 27)).status_code == 202
    run_jobs(app)
    [message] = fake_telegram.messages
    assert message["text"].endswith("\n<b>✅ Перезвонили: Петров, 10:27, через 12 мин</b>")
    assert "reply_markup" not in message and fake_telegram.sent("editMessageText") == []


def test_callback_on_a_message_that_can_no_longer_be_edited_leaves_it_alone(
        app, client, employee, petrov, fake_telegram):
    assert post_event(client, missed_call("evt-1", started_at=at(15))).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    fake_telegram.make_uneditable(CHAT, msg.message_id, deleted=True)
    assert post_event(client, outgoing("evt-out", 27)).status_code == 202
    run_jobs(app)
    assert len(fake_telegram.sent("sendMessage")) == 1 and fake_telegram.sent("editMessageText") == []
    db.session.expire_all()
    assert db.session.get(TelegramMessage, msg.id).state == "gone"


def test_press_records_who_takes_the_call_back_on_the_missed_call(app, client, employee, fake_telegram):
    from notifier.models import MissedCall

    assert post_event(client, missed_call("evt-1", started_at=at(0))).status_code == 202
    assert post_event(client, missed_call("evt-2", started_at=at(3))).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    press(app, fake_telegram, msg.message_id, f"cb:{msg.id}")
    rows = db.session.query(MissedCall).order_by(MissedCall.id).all()
    assert [(r.taken_by_subscriber_id, r.taken_at is not None) for r in rows] == [(employee, True)] * 2


def test_sweep_catches_up_on_a_callback_whose_listener_never_ran(app, client, employee, fake_telegram):
    from datetime import timedelta

    from notifier.models import MissedCall, utcnow
    from notifier.pipeline import outbox

    assert post_event(client, missed_call("evt-1", started_at=at(15))).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    db.session.execute(db.update(MissedCall).values(status="closed", resolved_how="manual", resolved_at=utcnow()))
    db.session.commit()  # as if the process died right after the commit
    outbox.sweep(utcnow() + timedelta(minutes=1))
    run_jobs(app)
    assert fake_telegram.shown(CHAT, msg.message_id)["text"].endswith("☑️ Закрыт вручную")


# -- webhook mode -------------------------------------------------------------------

def test_button_press_by_webhook(app, client, employee, fake_telegram):
    from notifier.channels import checks
    from notifier.telegram import bot

    assert post_event(client, missed_call()).status_code == 202
    run_jobs(app)
    bot.enable_webhook(checks.bot(), "https://notify.example.com", "https://notify.example.com/api/v1/telegram/webhook")
    db.session.commit()
    assert fake_telegram.webhook["allowed_updates"] == ["message", "callback_query"]
    [msg] = db.session.query(TelegramMessage).all()
    fake_telegram.push_callback(CHAT, msg.message_id, f"cb:{msg.id}")
    [update] = fake_telegram.take_pending()
    headers = {"X-Telegram-Bot-Api-Secret-Token": fake_telegram.webhook["secret_token"]}
    assert client.post("/api/v1/telegram/webhook", json=update, headers=headers).status_code == 200
    assert fake_telegram.callbacks[update["callback_query"]["id"]]["answered"]["text"].startswith("Отмечено")
    run_jobs(app)
    assert fake_telegram.shown(CHAT, msg.message_id)["text"].endswith("Перезвонит: Иванов Иван")


def test_a_webhook_set_for_messages_only_is_set_again_with_presses(app, fake_telegram):
    from notifier.channels import checks
    from notifier.telegram import bot
    from notifier.telegram.poller import IDLE

    from .factories import configure_telegram

    configure_telegram(fake_telegram)
    bot.enable_webhook(checks.bot(), "https://notify.example.com", "https://notify.example.com/api/v1/telegram/webhook")
    db.session.commit()
    secret = fake_telegram.webhook["secret_token"]
    fake_telegram.webhook["allowed_updates"] = ["message"]  # as versions before the button set it
    p = Poller(app, poll_timeout=0)
    assert p.step() == IDLE
    assert fake_telegram.webhook["allowed_updates"] == ["message", "callback_query"]
    assert fake_telegram.webhook["secret_token"] == secret
    assert fake_telegram.webhook["url"] == "https://notify.example.com/api/v1/telegram/webhook"
    assert p.step() == IDLE and len(fake_telegram.sent("getWebhookInfo")) == 1  # once per token


# -- «Журнал» ------------------------------------------------------------------------

def test_the_log_shows_a_repeat_call_as_an_update_of_the_message(app, client, auth_client, api_headers,
                                                                   employee, fake_telegram):
    from notifier.models import Event

    assert post_event(client, missed_call("evt-1", started_at=at(0))).status_code == 202
    assert post_event(client, missed_call("evt-2", started_at=at(6))).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    second = client.get("/api/v1/events/evt-2", headers=api_headers).get_json()
    [tg] = [d for d in second["deliveries"] if d["channel"] == "telegram"]
    assert tg["status"] == "sent" and tg["telegram_message"] == {"message_id": msg.message_id, "updated": True}
    first = client.get("/api/v1/events/evt-1", headers=api_headers).get_json()
    assert [d["telegram_message"] for d in first["deliveries"]] == [None, {"message_id": msg.message_id,
                                                                           "updated": False}]
    pk = db.session.query(Event).filter_by(event_id="evt-2").one().id
    html = auth_client.get(f"/log/{pk}").get_data(as_text=True)
    assert f"обновлено сообщение {msg.message_id}" in html


def test_an_employee_who_moved_to_another_chat_gets_a_new_message_there(app, client, employee, fake_telegram):
    assert post_event(client, missed_call("evt-1", started_at=at(0))).status_code == 202
    run_jobs(app)
    sub = db.session.get(Subscriber, employee)
    sub.telegram_chat_id = 5559999  # linked again from another phone
    db.session.commit()
    assert post_event(client, missed_call("evt-2", started_at=at(5))).status_code == 202
    run_jobs(app)
    assert [m["chat_id"] for m in fake_telegram.messages] == [CHAT, 5559999]
    assert fake_telegram.sent("editMessageText") == []


def test_edits_that_keep_failing_are_given_up(app, client, employee, fake_telegram):
    assert post_event(client, missed_call()).status_code == 202
    run_jobs(app)
    [msg] = db.session.query(TelegramMessage).all()
    db.session.execute(db.update(TelegramMessage).values(version=TelegramMessage.version + 1, taken_by="Петров",
                                                         edit_attempts=telegram_threads.EDIT_GIVE_UP - 1))
    db.session.commit()
    fake_telegram.fail_next("500", method="editMessageText")
    assert telegram_threads.edit_job(msg.id) is None
    db.session.expire_all()
    row = db.session.get(TelegramMessage, msg.id)
    assert row.shown_version == row.version and "500" in row.edit_error
    assert telegram_threads.requeue_stale() == 0


def test_429_on_an_edit_job_is_retried_after_retry_after(app, client, employee, petrov, fake_telegram):
    assert post_event(client, missed_call("evt-1", started_at=at(15))).status_code == 202
    run_jobs(app)
    fake_telegram.fail_next("429", method="editMessageText", retry_after=1)
    fake_telegram.fail_next("502", method="editMessageText")
    assert post_event(client, outgoing("evt-out", 27)).status_code == 202
    run_jobs(app)
    assert [r["status"] for r in fake_telegram.requests if r["method"] == "editMessageText"] == [429, 502, 200]
    [msg] = db.session.query(TelegramMessage).all()
    assert fake_telegram.shown(CHAT, msg.message_id)["text"].endswith("✅ Перезвонили: Петров, 10:27, через 12 мин")
    assert len(fake_telegram.sent("sendMessage")) == 1
