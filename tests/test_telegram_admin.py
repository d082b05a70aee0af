"""The admin's side of Telegram linking: the API endpoint, the htmx fragment on
the «Абоненты» screen (copy, email, unlink) and the webhook settings page."""
from __future__ import annotations

import re

import pytest

from notifier.extensions import db
from notifier.models import Subscriber
from notifier.services import settings
from notifier.telegram import bot
from notifier.web.security import token_digest
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def tg(app, fake_telegram):
    app.config.update(TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url)
    return fake_telegram


@pytest.fixture
def sub_id(app):
    return factories.subscriber().id


def subscriber(app, sid) -> Subscriber:
    sub = db.session.get(Subscriber, sid)
    db.session.expunge(sub)
    return sub


def link_in(html: str) -> str:
    match = re.search(r'value="(https://t\.me/[^"]+)"', html)
    assert match, html
    return match.group(1).replace("&amp;", "&")


# -- API -------------------------------------------------------------------------------

def test_api_telegram_link(app, client, api_headers, tg, sub_id):
    resp = client.post(f"/api/v1/subscribers/{sub_id}/telegram-link", headers=api_headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["url"].startswith("https://t.me/notifier_test_bot?start=")
    assert body["expires_at"] > "2026"
    token = body["url"].split("=", 1)[1]
    assert subscriber(app, sub_id).telegram_link_token_hash == token_digest(token)


def test_api_telegram_link_errors(app, client, api_headers, sub_id, fake_telegram):
    assert client.post(f"/api/v1/subscribers/{sub_id}/telegram-link").status_code == 401
    resp = client.post("/api/v1/subscribers/999999/telegram-link", headers=api_headers)
    assert resp.status_code == 404 and resp.get_json()["error"]
    resp = client.post(f"/api/v1/subscribers/{sub_id}/telegram-link", headers=api_headers)
    assert resp.status_code == 409 and "не настроен" in resp.get_json()["error"]
    # a wrong token: Telegram's own words, and the Settings status says so too
    app.config.update(TELEGRAM_BOT_TOKEN="999:WRONG", TELEGRAM_API_URL=fake_telegram.url)
    resp = client.post(f"/api/v1/subscribers/{sub_id}/telegram-link", headers=api_headers)
    assert resp.status_code == 502 and "Unauthorized" in resp.get_json()["error"]
    assert "WRONG" not in resp.get_data(as_text=True)
    assert "Unauthorized" in settings.get("telegram_status")["error"]


def test_api_unlink(app, client, api_headers, sub_id):
    db.session.get(Subscriber, sub_id).telegram_chat_id = 42
    db.session.commit()
    assert client.delete(f"/api/v1/subscribers/{sub_id}/telegram-link", headers=api_headers).status_code == 204
    sub = subscriber(app, sub_id)
    assert sub.telegram_chat_id is None and sub.telegram_unlinked_reason == "Отвязан администратором"


# -- UI fragment -------------------------------------------------------------------------

def test_link_fragment_for_htmx(app, auth_client, tg, sub_id):
    resp = auth_client.post(f"/subscribers/{sub_id}/telegram-link",
                            headers={**HX, "X-CSRFToken": auth_client.csrf_token})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<html" not in html  # a fragment
    url = link_in(html)
    assert url.startswith("https://t.me/notifier_test_bot?start=")
    assert 'data-copy="#tg-link-url-%d"' % sub_id in html
    assert "Отправить на email" in html
    assert "Отвязать" not in html  # not linked yet
    assert "Действует до" in html
    assert "<script" not in html


def test_link_needs_csrf(app, auth_client, tg, sub_id):
    assert auth_client.post(f"/subscribers/{sub_id}/telegram-link", headers=HX).status_code == 400
    assert subscriber(app, sub_id).telegram_link_token_hash is None


def test_link_without_bot_says_so(app, auth_client, sub_id):
    resp = auth_client.post(f"/subscribers/{sub_id}/telegram-link",
                            headers={**HX, "X-CSRFToken": auth_client.csrf_token})
    assert resp.status_code == 422
    assert "Telegram-бот не настроен" in resp.get_data(as_text=True)
    resp = auth_client.post("/subscribers/999999/telegram-link",
                            headers={**HX, "X-CSRFToken": auth_client.csrf_token})
    assert resp.status_code == 404


def test_link_page_without_javascript(app, auth_client, tg, sub_id):
    resp = auth_client.post(f"/subscribers/{sub_id}/telegram-link", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<html" in html and f'id="telegram-link-{sub_id}"' in html
    link_in(html)


def test_email_the_shown_link(app, auth_client, tg, sub_id, smtp_server):
    settings.put("mail", {"server": "127.0.0.1", "port": smtp_server.port, "sender": "pbx@example.com"})
    db.session.commit()
    html = auth_client.post(f"/subscribers/{sub_id}/telegram-link",
                            headers={**HX, "X-CSRFToken": auth_client.csrf_token}).get_data(as_text=True)
    url = link_in(html)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    resp = auth_client.post(f"/subscribers/{sub_id}/telegram-link/email", data={"token": token},
                            headers={**HX, "X-CSRFToken": auth_client.csrf_token})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "Ссылка отправлена на ivanov@example.com" in resp.get_data(as_text=True)
    assert link_in(resp.get_data(as_text=True)) == url  # the same link, still valid
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "ivanov@example.com"
    assert message["Subject"] == "Подключение уведомлений АТС в Telegram"
    assert url in message.get_body(("plain",)).get_content()


def test_email_without_smtp_says_so(app, auth_client, tg, sub_id):
    resp = auth_client.post(f"/subscribers/{sub_id}/telegram-link/email",
                            headers={**HX, "X-CSRFToken": auth_client.csrf_token})
    assert resp.status_code == 422
    assert "Отправка email не настроена" in resp.get_data(as_text=True)


def test_unlink_from_the_fragment(app, auth_client, tg, sub_id):
    db.session.get(Subscriber, sub_id).telegram_chat_id = 42
    db.session.commit()
    html = auth_client.post(f"/subscribers/{sub_id}/telegram-link",
                            headers={**HX, "X-CSRFToken": auth_client.csrf_token}).get_data(as_text=True)
    assert "Отвязать" in html and "Telegram подключён" in html
    resp = auth_client.post(f"/subscribers/{sub_id}/telegram-unlink",
                            headers={**HX, "X-CSRFToken": auth_client.csrf_token})
    assert resp.status_code == 200
    assert resp.headers["HX-Trigger"] == "telegram-link-changed"
    assert "Отвязан администратором" in resp.get_data(as_text=True)
    sub = subscriber(app, sub_id)
    assert sub.telegram_chat_id is None and sub.telegram_link_token_hash is None
    # without JavaScript: a redirect back to the list
    resp = auth_client.post(f"/subscribers/{sub_id}/telegram-unlink", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/subscribers/")


# -- webhook settings -------------------------------------------------------------------------

def test_webhook_settings_page(app, auth_client, tg):
    page = auth_client.get("/settings/telegram-webhook").get_data(as_text=True)
    assert "Long polling" in page and "Включить webhook" in page
    resp = auth_client.post("/settings/telegram-webhook",
                            data={"csrf_token": auth_client.csrf_token, "public_url": "http://insecure.example.com"})
    assert resp.status_code == 422 and "HTTPS" in resp.get_data(as_text=True)
    assert tg.webhook is None
    resp = auth_client.post("/settings/telegram-webhook",
                            data={"csrf_token": auth_client.csrf_token, "public_url": "https://notify.example.com/"})
    assert resp.status_code == 302
    assert tg.webhook["url"] == "https://notify.example.com/api/v1/telegram/webhook"
    assert bot.webhook_secret() == tg.webhook["secret_token"]
    page = auth_client.get("/settings/telegram-webhook").get_data(as_text=True)
    assert "Webhook включён" in page and "https://notify.example.com/api/v1/telegram/webhook" in page
    resp = auth_client.post("/settings/telegram-webhook/off", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 302
    assert tg.webhook is None
    assert bot.webhook_url() is None


def test_webhook_settings_show_bot_errors(app, auth_client, tg):
    tg.fail_next("400", method="setWebhook")
    resp = auth_client.post("/settings/telegram-webhook",
                            data={"csrf_token": auth_client.csrf_token, "public_url": "https://notify.example.com"})
    assert resp.status_code == 422
    assert "Telegram не принял адрес: Bad Request" in resp.get_data(as_text=True)
    assert bot.webhook_url() is None


def test_email_refused_by_the_server_says_so(app, auth_client, tg, sub_id, smtp_server):
    settings.put("mail", {"server": "127.0.0.1", "port": smtp_server.port, "sender": "pbx@example.com"})
    db.session.commit()
    smtp_server.fail_next(550, stage="RCPT", message="No such user")
    resp = auth_client.post(f"/subscribers/{sub_id}/telegram-link/email",
                            headers={**HX, "X-CSRFToken": auth_client.csrf_token})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Письмо не отправлено: ivanov@example.com: 550 No such user" in html
    link_in(html)  # the (new) link is still shown to copy by hand
