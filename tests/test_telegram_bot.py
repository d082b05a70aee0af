"""Employees link their Telegram chat through the bot; updates arrive by long
polling (one poller, stored offset) or by webhook. All against the local Bot
API server, a real Redis and the real database."""
from __future__ import annotations

from datetime import timedelta

import pytest

from notifier.channels import checks as channel_checks
from notifier.extensions import db
from notifier.models import Subscriber, utcnow
from notifier.runtime.redis_conn import get_redis
from notifier.services import settings
from notifier.telegram import bot, link
from notifier.telegram.poller import AUTH_BACKOFF, IDLE, LOCK_RETRY, Poller
from notifier.web.security import token_digest

from .factories import subscriber

CHAT = 5550001


@pytest.fixture
def tg(app, fake_telegram):
    """The app talks to the local Bot API server."""
    app.config.update(TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url)
    return fake_telegram


def token_of(url: str) -> str:
    return url.split("?start=", 1)[1]


def poller(app, **kw) -> Poller:
    """A poller that does not long-poll, so each step returns at once."""
    return Poller(app, connection=get_redis(), poll_timeout=0, **kw)


def run_updates(app, tg, *texts, chat_id=CHAT):
    """Push messages and let one poller step handle them; returns the answers (HTML)."""
    before = len(tg.messages)
    for text in texts:
        tg.push_update(text, chat_id)
    p = poller(app)
    try:
        assert p.step() == 0
    finally:
        p.release()
    db.session.expire_all()  # the poller wrote in its own context
    return [m["text"] for m in tg.messages[before:]]


# -- the link itself -----------------------------------------------------------------

def test_new_link_is_a_one_time_deep_link_stored_as_a_digest(app, tg):
    sub = subscriber()
    url, expires_at = link.new_link(sub)
    db.session.commit()
    token = token_of(url)
    assert url.startswith(f"https://t.me/{tg.bot_username}?start=")
    assert 1 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()
    assert sub.telegram_link_token_hash == token_digest(token)
    assert token not in str(sub.telegram_link_token_hash)
    assert timedelta(days=6) < expires_at - utcnow() <= link.LINK_TTL
    # the bot's name was asked once from getMe and saved next to the token settings
    assert settings.get("telegram")["username"] == tg.bot_username
    second, _ = link.new_link(sub)
    db.session.commit()
    assert len(tg.sent("getMe")) == 1
    assert link.link_chat(token, CHAT) is None  # the new link replaced the old one
    assert link.link_chat(token_of(second), CHAT) is sub


def test_no_bot_configured_means_no_link(app):
    sub = subscriber()
    with pytest.raises(link.NotConfigured):
        link.new_link(sub)


# -- /start, /stop, /status -------------------------------------------------------------

def test_start_with_valid_token_links_the_chat_and_says_what_comes(app, tg):
    sub = subscriber(name="Иванов <Иван> & Co", rules=[
        {"types": ["missed_calls"], "time": {"mode": "off_hours"}, "callers": {"mode": "all"}},
        {"types": ["voicemail"]},
    ])
    url, _ = link.new_link(sub)
    db.session.commit()
    sid = sub.id
    [text] = run_updates(app, tg, f"/start {token_of(url)}")
    assert "<b>Иванов &lt;Иван&gt; &amp; Co</b> (номер 102)" in text  # Telegram HTML, escaped
    assert tg.messages[-1]["parse_mode"] == "HTML"
    assert "Все пропущенные звонки в нерабочее время" in text
    assert "Голосовые сообщения" in text
    sub = db.session.get(Subscriber, sid)
    assert sub.telegram_chat_id == CHAT and sub.telegram_linked
    assert sub.telegram_linked_at is not None
    assert sub.telegram_link_token_hash is None
    assert sub.telegram == "@ivan_petrov"  # filled from Telegram as the admin left it empty
    # the token was one-time
    [again] = run_updates(app, tg, f"/start {token_of(url)}", chat_id=CHAT + 1)
    assert "недействительна" in again


def test_start_without_rules_says_notifications_are_not_configured(app, tg):
    sub = subscriber(name="")
    url, _ = link.new_link(sub)
    db.session.commit()
    [text] = run_updates(app, tg, f"/start {token_of(url)}")
    assert "к абоненту с номером <b>102</b>" in text
    assert "пока не настроены" in text


@pytest.mark.parametrize("case", ["wrong", "expired"])
def test_start_with_wrong_or_expired_token_changes_nothing(app, tg, case):
    sub = subscriber()
    url, _ = link.new_link(sub)
    if case == "expired":
        sub.telegram_link_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    sid = sub.id
    token = token_of(url) if case == "expired" else "not-a-real-token"
    saved_hash = sub.telegram_link_token_hash
    [text] = run_updates(app, tg, f"/start {token}")
    assert "К сожалению, эта ссылка недействительна или её срок истёк" in text
    sub = db.session.get(Subscriber, sid)
    assert sub.telegram_chat_id is None
    assert sub.telegram_link_token_hash == saved_hash


def test_start_without_token_explains_how_to_get_a_link(app, tg):
    [text] = run_updates(app, tg, "/start")
    assert "ссылку для подключения" in text and "администратор" in text


def test_stop_unlinks_and_status_reports(app, tg):
    sub = subscriber(rules=[{"types": ["missed_calls"], "callers": {"mode": "vip"}}])
    url, _ = link.new_link(sub)
    db.session.commit()
    sid = sub.id
    started, status, stopped, status_after, other = run_updates(
        app, tg, f"/start {token_of(url)}", "/status", "/stop", "/status", "привет")
    assert "Пропущенные звонки с VIP-номеров" in status and "Иванов Иван" in status
    assert "отключены" in stopped
    assert "не подключён" in status_after
    assert "/status" in other and "/stop" in other  # short help for anything else
    sub = db.session.get(Subscriber, sid)
    assert sub.telegram_chat_id is None
    assert "/stop" in sub.telegram_unlinked_reason


def test_a_chat_moves_to_the_employee_who_linked_it_last(app, tg):
    first, second = subscriber("101", "Первый"), subscriber("102", "Второй")
    url1, _ = link.new_link(first)
    url2, _ = link.new_link(second)
    db.session.commit()
    ids = first.id, second.id
    run_updates(app, tg, f"/start {token_of(url1)}", f"/start {token_of(url2)}")
    assert db.session.get(Subscriber, ids[0]).telegram_chat_id is None
    assert "102" in db.session.get(Subscriber, ids[0]).telegram_unlinked_reason
    assert db.session.get(Subscriber, ids[1]).telegram_chat_id == CHAT


def test_group_chats_are_ignored(app, tg):
    sub = subscriber()
    url, _ = link.new_link(sub)
    db.session.commit()
    sid = sub.id
    assert run_updates(app, tg, f"/start {token_of(url)}", chat_id=-100123) == []
    assert db.session.get(Subscriber, sid).telegram_chat_id is None


# -- the poller -----------------------------------------------------------------------

def test_restarted_poller_handles_no_update_twice(app, tg):
    handled = tg.push_update("/status", CHAT)
    first = poller(app)
    assert first.step() == 0
    first.stop()
    assert len(tg.messages) == 1
    offset = bot.stored_offset()
    assert offset == handled["update_id"] + 1  # stored in the settings table
    assert settings.get(bot.OFFSET_KEY) == {"bot_id": "123456", "next": offset}
    # an update seen again (e.g. re-delivered) is recognised and skipped
    assert bot.process(handled, channel_checks.bot(), 0, lambda s: None) is False
    tg.push_update("/stop", CHAT)
    second = poller(app)  # as after a restart: nothing in memory
    assert second.step() == 0
    second.stop()
    texts = [m["text"] for m in tg.messages]
    assert len(texts) == 2 and "не подключён" in texts[1]
    polls = [r["params"] for r in tg.requests if r["method"] == "getUpdates"]
    assert polls[1]["offset"] == offset  # asked from the stored offset
    assert bot.stored_offset() == offset + 1
    # another bot (a new token) has its own update ids: it starts afresh
    app.config["TELEGRAM_BOT_TOKEN"] = "654321:OTHER-BOT"
    assert bot.stored_offset() is None


def test_only_one_poller_at_a_time(app, tg):
    first, second = poller(app), poller(app)
    try:
        assert first.step() == 0
        assert second.step() == LOCK_RETRY  # cannot take the lock
        assert not second.hold_lock()
        assert first.hold_lock()  # the holder renews it
        first.stop()  # a stopping poller frees the lock for the next one
        assert second.step() == 0
    finally:
        first.release()
        second.release()
    assert [r["method"] for r in tg.requests].count("getUpdates") == 2


def test_poller_idles_without_a_token(app):
    p = poller(app)
    assert p.step() == IDLE
    assert not p.lock.owned()


def test_poller_honours_429_and_reports_a_bad_token(app, tg):
    settings.put("telegram", {"token": "saved-in-ui", "username": "notifier_test_bot"})
    db.session.commit()
    p = poller(app)
    try:
        tg.fail_next("429", method="getUpdates", retry_after=7)
        assert p.step() == 7
        tg.fail_next("401", method="getUpdates")
        assert p.step() == AUTH_BACKOFF
        status = settings.get("telegram_status")
        assert status["error"] == "getUpdates: Unauthorized (HTTP 401)" and not status["ok"]
        assert status["at"]
        tg.fail_next("500", method="getUpdates")
        assert 0 < p.step() <= 60  # plain backoff for server errors
        assert p.step() == 0
        status = settings.get("telegram_status")
        assert status["error"] is None and status["ok"] and status["at"]
        saved = settings.get("telegram")
        assert saved["token"] == "saved-in-ui" and saved["username"] == "notifier_test_bot"
    finally:
        p.release()


def test_poller_thread_starts_and_stops_cleanly(app, tg):
    tg.push_update("/start", CHAT)
    p = Poller(app, connection=None, poll_timeout=1).start()
    try:
        tg.wait_for(1)
    finally:
        p.stop()
    assert not p._thread.is_alive()
    assert not p.lock.owned()


# -- answering: blocked user, 429 -----------------------------------------------------

def test_blocked_user_is_unlinked(app, tg):
    sub = subscriber()
    sub.telegram_chat_id = CHAT
    db.session.commit()
    sid = sub.id
    tg.fail_next("403", method="sendMessage")
    assert run_updates(app, tg, "/status") == []
    sub = db.session.get(Subscriber, sid)
    assert sub.telegram_chat_id is None
    assert sub.telegram_unlinked_reason == "Бот заблокирован в Telegram: Forbidden: bot was blocked by the user"


def test_answer_waits_out_429_then_sends(app, tg):
    waited = []
    tg.fail_next("429", method="sendMessage", retry_after=3)
    api = channel_checks.bot()
    reply = bot.Reply(CHAT, "проверка")
    assert bot.send(api, reply, max_wait=10, wait=waited.append)
    assert waited == [3.0]
    assert tg.messages[-1]["text"] == "проверка"
    # a retry_after longer than the caller may wait is not waited for
    tg.fail_next("429", method="sendMessage", retry_after=30)
    assert not bot.send(channel_checks.bot(), reply, max_wait=5, wait=waited.append)
    assert waited == [3.0]


# -- webhook mode ---------------------------------------------------------------------

def enable_webhook(app, tg):
    bot.enable_webhook(channel_checks.bot(), "https://notify.example.com",
                       "https://notify.example.com/api/v1/telegram/webhook")
    db.session.commit()
    return tg.webhook["secret_token"]


def webhook_update(tg, text):
    """An update as Telegram would push it (taken out of the fake's queue)."""
    update = tg.push_update(text, CHAT)
    tg.reset()
    return update


def test_webhook_with_right_secret_handles_the_update_once(app, client, tg):
    secret = enable_webhook(app, tg)
    assert tg.webhook["url"] == "https://notify.example.com/api/v1/telegram/webhook"
    assert len(secret) >= 32
    update = webhook_update(tg, "/status")
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    resp = client.post("/api/v1/telegram/webhook", json=update, headers=headers)
    assert resp.status_code == 200
    assert len(tg.messages) == 1 and "не подключён" in tg.messages[0]["text"]
    # Telegram re-delivering the same update does not answer twice
    assert client.post("/api/v1/telegram/webhook", json=update, headers=headers).status_code == 200
    assert len(tg.messages) == 1
    # and the poller stays out of the way in webhook mode
    assert poller(app).step() == IDLE


@pytest.mark.parametrize("header", [None, "wrong-secret"])
def test_webhook_with_wrong_secret_is_refused(app, client, tg, header):
    enable_webhook(app, tg)
    update = webhook_update(tg, "/stop")
    headers = {"X-Telegram-Bot-Api-Secret-Token": header} if header else {}
    resp = client.post("/api/v1/telegram/webhook", json=update, headers=headers)
    assert resp.status_code == 403
    assert tg.requests == []
    assert settings.get(bot.OFFSET_KEY) is None


def test_webhook_endpoint_is_off_in_polling_mode(app, client, tg):
    resp = client.post("/api/v1/telegram/webhook", json={"update_id": 1},
                       headers={"X-Telegram-Bot-Api-Secret-Token": ""})
    assert resp.status_code == 404


def test_switching_back_to_polling_deletes_the_webhook(app, tg):
    enable_webhook(app, tg)
    bot.disable_webhook(channel_checks.bot())
    db.session.commit()
    assert bot.webhook_url() is None and bot.webhook_secret() is None
    assert tg.webhook is None
    assert poller(app).step() == 0
