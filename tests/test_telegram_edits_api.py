"""BotAPI's inline keyboards, editMessageText and answerCallbackQuery against FakeTelegram.

Formats: core.telegram.org/bots/api — InlineKeyboardMarkup / InlineKeyboardButton
(callback_data 1-64 bytes), "Updating messages" → editMessageText (returns the
edited Message; without reply_markup the keyboard goes), CallbackQuery,
answerCallbackQuery (text 0-200 characters). Error descriptions as Telegram
sends them: "Bad Request: message is not modified: ..." (github.com/daniel-hauser/
moneyman pull 133), "Bad Request: message to edit not found" (github.com/
TelegramBotAPI/errors issue 7), "Bad Request: message can't be edited"
(github.com/TelegramBotAPI/errors pull 6).
"""
import pytest

from notifier.telegram.api import (
    UPDATE_TYPES,
    BotAPI,
    TelegramPermanent,
    TelegramTransient,
    inline_button,
)

CHAT = 424242


@pytest.fixture
def api(fake_telegram):
    return BotAPI(fake_telegram.token, base_url=fake_telegram.url, timeout=5)


def test_send_message_with_an_inline_button(api, fake_telegram):
    markup = inline_button("Перезвоню", "cb:17")
    msg = api.send_message(CHAT, "<b>Пропущенный звонок</b>", reply_markup=markup)
    assert msg["reply_markup"] == {"inline_keyboard": [[{"text": "Перезвоню", "callback_data": "cb:17"}]]}
    [sent] = fake_telegram.messages
    assert sent["reply_markup"] == markup
    assert fake_telegram.shown(CHAT, msg["message_id"])["text"] == "Пропущенный звонок"


@pytest.mark.parametrize("data", ["", "x" * 65, "ж" * 33])
def test_callback_data_over_64_bytes_is_refused_here_and_by_telegram(api, fake_telegram, data):
    with pytest.raises(ValueError):
        inline_button("Перезвоню", data)
    markup = {"inline_keyboard": [[{"text": "Перезвоню", "callback_data": data}]]}
    with pytest.raises(TelegramPermanent, match="BUTTON_DATA_INVALID"):
        api.send_message(CHAT, "x", reply_markup=markup)


def test_edit_replaces_text_and_drops_the_keyboard_when_not_repeated(api, fake_telegram):
    msg = api.send_message(CHAT, "первый", reply_markup=inline_button("Перезвоню", "cb:1"))
    assert api.edit_message_text(CHAT, msg["message_id"], "✅ <b>Перезвонили</b>: Иванов") is True
    [edit] = [r["params"] for r in fake_telegram.sent("editMessageText")]
    assert edit["chat_id"] == CHAT and edit["message_id"] == msg["message_id"]
    assert edit["parse_mode"] == "HTML" and "reply_markup" not in edit
    assert fake_telegram.shown(CHAT, msg["message_id"]) == {
        "text": "✅ Перезвонили: Иванов", "reply_markup": None, "editable": True}


def test_edit_keeps_a_keyboard_it_repeats(api, fake_telegram):
    markup = inline_button("Перезвоню", "cb:1")
    msg = api.send_message(CHAT, "1 пропущенный", reply_markup=markup)
    assert api.edit_message_text(CHAT, msg["message_id"], "2 пропущенных", markup)
    assert fake_telegram.shown(CHAT, msg["message_id"])["reply_markup"] == markup


def test_edit_to_the_same_content_is_success(api, fake_telegram):
    msg = api.send_message(CHAT, "текст")
    assert api.edit_message_text(CHAT, msg["message_id"], "текст") is True
    [failed] = [r for r in fake_telegram.requests if r["method"] == "editMessageText"]
    assert failed["status"] == 400  # Telegram said "not modified"; the wrapper calls it done


@pytest.mark.parametrize("deleted", [False, True])
def test_message_too_old_or_deleted_is_left_alone(api, fake_telegram, deleted):
    msg = api.send_message(CHAT, "текст")
    fake_telegram.make_uneditable(CHAT, msg["message_id"], deleted=deleted)
    assert api.edit_message_text(CHAT, msg["message_id"], "новый") is False
    assert fake_telegram.sent("editMessageText") == [] and len(fake_telegram.messages) == 1


def test_edit_429_and_5xx_are_transient_with_retry_after(api, fake_telegram):
    msg = api.send_message(CHAT, "текст")
    fake_telegram.fail_next("429", method="editMessageText", retry_after=7)
    with pytest.raises(TelegramTransient) as caught:
        api.edit_message_text(CHAT, msg["message_id"], "новый")
    assert caught.value.status == 429 and caught.value.retry_after == 7
    fake_telegram.fail_next("500", method="editMessageText")
    with pytest.raises(TelegramTransient):
        api.edit_message_text(CHAT, msg["message_id"], "новый")
    assert api.edit_message_text(CHAT, msg["message_id"], "новый")


def test_edit_with_broken_html_is_a_permanent_error(api, fake_telegram):
    msg = api.send_message(CHAT, "текст")
    with pytest.raises(TelegramPermanent, match="can't parse entities"):
        api.edit_message_text(CHAT, msg["message_id"], "<b>Петров & Ко")


def test_callback_query_arrives_by_get_updates_and_is_answered_once(api, fake_telegram):
    msg = api.send_message(CHAT, "текст", reply_markup=inline_button("Перезвоню", "cb:9"))
    fake_telegram.push_callback(CHAT, msg["message_id"], "cb:9")
    [update] = api.get_updates(timeout=0)
    query = update["callback_query"]
    assert query["data"] == "cb:9" and query["from"]["id"] == CHAT
    assert query["message"]["chat"]["id"] == CHAT and query["message"]["message_id"] == msg["message_id"]
    assert isinstance(query["id"], str) and query["chat_instance"]
    assert api.answer_callback_query(query["id"], "Отмечено: перезвоните клиенту") is True
    assert fake_telegram.callbacks[query["id"]]["answered"]["text"] == "Отмечено: перезвоните клиенту"
    with pytest.raises(TelegramPermanent, match="query is too old"):
        api.answer_callback_query(query["id"])


def test_answer_text_is_cut_to_200_characters(api, fake_telegram):
    fake_telegram.push_callback(CHAT, 1, "cb:1")
    [update] = api.get_updates(timeout=0)
    api.answer_callback_query(update["callback_query"]["id"], "я" * 300)
    assert len(fake_telegram.callbacks[update["callback_query"]["id"]]["answered"]["text"]) == 200


def test_get_updates_asks_for_button_presses(api, fake_telegram):
    api.get_updates(timeout=0)
    assert fake_telegram.allowed_updates == set(UPDATE_TYPES) == {"message", "callback_query"}


def test_presses_are_not_delivered_to_a_bot_that_asks_for_messages_only(api, fake_telegram):
    fake_telegram.push_callback(CHAT, 1, "cb:1")
    fake_telegram.push_update("/status", CHAT)
    got = api.get_updates(timeout=0, allowed_updates=["message"])
    assert [list(u)[1] for u in got] == ["message"]
