"""«Настройки»: SMTP and Telegram (saved, validated, env read-only, secrets masked, real test
sends to the fake servers), the webhook card, API tokens."""
import base64
import hashlib
import hmac
import re
import subprocess
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from notifier.extensions import db
from notifier.models import ApiToken, Event
from notifier.services import settings
from notifier.web.security import token_digest
from tests.conftest import WEBHOOK_SECRET
from tests.factories import configure_mail, subscriber


def page(client) -> str:
    resp = client.get("/settings/")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def mail_form(csrf, **overrides):
    data = {"csrf_token": csrf, "mail-server": "127.0.0.1", "mail-port": "2525", "mail-security": "none",
            "mail-username": "", "mail-password": "", "mail-sender": "АТС <pbx@example.com>"}
    data.update(overrides)
    return data


def saved_mail(app):
    return settings.get(settings.MAIL_KEY)


# -- page --------------------------------------------------------------------------

def test_fresh_page_says_what_is_missing(auth_client):
    html = page(auth_client).split('aria-label="Состояние системы"')[1].split("</nav>", 1)[1]  # cards only
    assert html.count("не настроено") == 2
    assert "Пока SMTP-сервер не указан" in html and ">Отправить тест<" not in html
    assert "http://localhost/api/v1/events" in html
    assert "событий ещё не было" in html
    assert "Токенов пока нет." in html


# -- email -------------------------------------------------------------------------

def test_save_smtp_settings_and_keep_the_password_when_left_empty(app, auth_client):
    resp = auth_client.post("/settings/mail", data=mail_form(
        auth_client.csrf_token, **{"mail-username": "robot", "mail-password": "s3cret-password-value",
                                   "mail-security": "starttls"}))
    assert resp.status_code == 302
    assert saved_mail(app) == {"server": "127.0.0.1", "port": 2525, "use_tls": True, "use_ssl": False,
                               "username": "robot", "password": "s3cret-password-value",
                               "sender": "АТС <pbx@example.com>"}
    html = page(auth_client)
    assert "Настройки почты сохранены." in html and "s3cret-password-value" not in html
    assert ">настроено<" in html and "Отправить тест" in html

    auth_client.post("/settings/mail", data=mail_form(auth_client.csrf_token, **{"mail-port": "587"}))
    assert saved_mail(app)["password"] == "s3cret-password-value" and saved_mail(app)["port"] == 587
    auth_client.post("/settings/mail", data=mail_form(auth_client.csrf_token, **{"mail-clear_password": "y"}))
    assert saved_mail(app)["password"] is None


@pytest.mark.parametrize("overrides, message", [
    ({"mail-port": "0"}, "Порт — число от 1 до 65535"),
    ({"mail-port": "smtp"}, "Порт — число от 1 до 65535"),
    ({"mail-server": "smtp." + "a" * 260}, "Не длиннее 253 символов"),
    ({"mail-port": ""}, "Укажите порт"),
    ({"mail-server": "smtp example.com"}, "Неверное имя сервера"),
    ({"mail-sender": "not an address"}, "Укажите адрес"),
    ({"mail-sender": "a@example.com\r\nBcc: x@evil.example"}, "Укажите адрес"),
    ({"mail-sender": ""}, "Укажите адрес отправителя"),
])
def test_invalid_smtp_settings_rerender_with_422_and_save_nothing(app, auth_client, overrides, message):
    resp = auth_client.post("/settings/mail", data=mail_form(auth_client.csrf_token, **overrides))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html and 'class="field-error"' in html
    assert saved_mail(app) is None


def test_environment_values_are_read_only_and_the_password_masked(app, auth_client):
    app.config.update(MAIL_FROM_ENV=["MAIL_PASSWORD", "MAIL_SERVER"], MAIL_SERVER="smtp.env.example",
                      MAIL_PASSWORD="env-password-0123456789")
    html = page(auth_client)
    assert 'value="smtp.env.example" readonly' in html and "Задано в окружении (MAIL_SERVER)" in html
    assert "env-password-0123456789" not in html and "Задано в окружении (MAIL_PASSWORD)" in html
    assert 'name="mail-server"' not in html and 'name="mail-password"' not in html
    resp = auth_client.post("/settings/mail", data=mail_form(
        auth_client.csrf_token, **{"mail-server": "smtp.ui.example", "mail-password": "ui-password"}))
    assert resp.status_code == 302
    saved = saved_mail(app)
    assert "server" not in saved and "password" not in saved and saved["port"] == 2525
    assert (settings.mail().server, settings.mail().password) == ("smtp.env.example", "env-password-0123456789")


def test_test_email_reaches_the_smtp_server_and_status_says_working(app, auth_client, smtp_server):
    configure_mail(smtp_server)
    resp = auth_client.post("/settings/mail/test", data={"csrf_token": auth_client.csrf_token,
                                                         "mailtest-to": "boss@example.com"})
    assert resp.status_code == 302
    [msg] = smtp_server.wait_for(1)
    assert msg.rcpt_tos == ["boss@example.com"] and msg.mail_from == "pbx@example.com"
    assert "Проверка почты" in msg["Subject"] and "тестовое письмо" in msg.get_content()
    html = page(auth_client)
    assert "Тестовое письмо отправлено на boss@example.com." in html and ">работает<" in html


def test_smtp_login_uses_the_saved_credentials(app, auth_client):
    from tests.fakes.smtp_server import FakeSMTP

    with FakeSMTP(credentials=("robot", "pw-123")) as smtp:
        configure_mail(smtp, username="robot", password="pw-123")
        auth_client.post("/settings/mail/test", data={"csrf_token": auth_client.csrf_token,
                                                      "mailtest-to": "boss@example.com"})
        smtp.wait_for(1)
        assert smtp.logins == ["robot"]


def test_smtp_rejection_is_shown_with_the_servers_words(app, auth_client, smtp_server):
    configure_mail(smtp_server)
    smtp_server.fail_next(550, message="Mailbox unavailable", stage="RCPT")
    auth_client.post("/settings/mail/test", data={"csrf_token": auth_client.csrf_token, "mailtest-to": "nobody@example.com"})
    html = page(auth_client)
    assert "Письмо не отправлено" in html and "550 Mailbox unavailable" in html
    assert ">последняя ошибка<" in html


def test_smtp_server_down_is_reported_not_a_500(app, auth_client, smtp_server):
    configure_mail(smtp_server)
    smtp_server.refuse_connections()
    resp = auth_client.post("/settings/mail/test", data={"csrf_token": auth_client.csrf_token,
                                                         "mailtest-to": "boss@example.com"})
    assert resp.status_code == 302
    assert "Соединение отклонено" in page(auth_client)


def test_test_email_address_is_validated(app, auth_client, smtp_server):
    configure_mail(smtp_server)
    resp = auth_client.post("/settings/mail/test", data={"csrf_token": auth_client.csrf_token, "mailtest-to": "nope"})
    assert resp.status_code == 422 and "Неверный email" in resp.get_data(as_text=True)
    assert smtp_server.messages == []


def test_saving_new_smtp_settings_resets_the_status(app, auth_client, smtp_server):
    configure_mail(smtp_server)
    auth_client.post("/settings/mail/test", data={"csrf_token": auth_client.csrf_token, "mailtest-to": "b@example.com"})
    assert ">работает<" in page(auth_client)
    auth_client.post("/settings/mail", data=mail_form(auth_client.csrf_token, **{"mail-port": str(smtp_server.port + 1)}))
    assert ">настроено<" in page(auth_client)


# -- Telegram ----------------------------------------------------------------------

def test_saving_a_token_reads_the_bots_name_and_masks_the_token(app, auth_client, fake_telegram):
    app.config["TELEGRAM_API_URL"] = fake_telegram.url
    resp = auth_client.post("/settings/telegram", data={"csrf_token": auth_client.csrf_token, "tg-token": fake_telegram.token})
    assert resp.status_code == 302
    assert settings.get(settings.TELEGRAM_KEY) == {"token": fake_telegram.token, "username": "notifier_test_bot"}
    html = page(auth_client)
    assert "@notifier_test_bot" in html and fake_telegram.token not in html and "1234…OKEN" in html


@pytest.mark.parametrize("token, message", [
    ("not-a-token", "Токен выглядит как"),
    ("", "Вставьте токен"),
    ("999:WRONG-TOKEN", "Telegram не принял токен"),
])
def test_a_bad_token_is_422_and_nothing_is_saved(app, auth_client, fake_telegram, token, message):
    app.config["TELEGRAM_API_URL"] = fake_telegram.url
    resp = auth_client.post("/settings/telegram", data={"csrf_token": auth_client.csrf_token, "tg-token": token})
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert settings.get(settings.TELEGRAM_KEY) is None


def test_telegram_down_while_saving_the_token_is_422(app, auth_client, fake_telegram):
    app.config["TELEGRAM_API_URL"] = fake_telegram.url
    fake_telegram.fail_next("500")
    resp = auth_client.post("/settings/telegram", data={"csrf_token": auth_client.csrf_token, "tg-token": fake_telegram.token})
    assert resp.status_code == 422 and "Не удалось связаться с Telegram" in resp.get_data(as_text=True)


def test_environment_token_is_read_only(app, auth_client, fake_telegram):
    app.config.update(TELEGRAM_BOT_TOKEN="777000:ENV-TOKEN-abcdefghijkl", TELEGRAM_BOT_USERNAME="env_bot")
    html = page(auth_client)
    assert "TELEGRAM_BOT_TOKEN" in html and "777000:ENV-TOKEN-abcdefghijkl" not in html and "@env_bot" in html
    assert 'name="tg-token"' not in html
    auth_client.post("/settings/telegram", data={"csrf_token": auth_client.csrf_token, "tg-token": "1:x"})
    assert settings.get(settings.TELEGRAM_KEY) is None


def test_test_message_goes_to_the_linked_employee(app, auth_client, fake_telegram):
    app.config["TELEGRAM_API_URL"] = fake_telegram.url
    settings.put(settings.TELEGRAM_KEY, {"token": fake_telegram.token, "username": "notifier_test_bot"})
    db.session.commit()
    subscriber("101", "Без телеграма", email=None)
    sid = subscriber(email=None, chat_id=555001).id
    card = page(auth_client).split('id="telegram"')[1].split("</section>")[0]  # the test-event datalist lists everyone
    assert "Иванов Иван (102)" in card and "Без телеграма" not in card
    resp = auth_client.post("/settings/telegram/test", data={"csrf_token": auth_client.csrf_token, "tgtest-subscriber": sid})
    assert resp.status_code == 302
    [sent] = fake_telegram.wait_for(1)
    assert sent["chat_id"] == 555001 and "Тестовое сообщение" in sent["text"]
    html = page(auth_client)
    assert "Тестовое сообщение отправлено: Иванов Иван." in html and ">работает<" in html


def test_blocked_bot_error_is_shown(app, auth_client, fake_telegram):
    app.config["TELEGRAM_API_URL"] = fake_telegram.url
    settings.put(settings.TELEGRAM_KEY, {"token": fake_telegram.token, "username": "notifier_test_bot"})
    db.session.commit()
    sid = subscriber(email=None, chat_id=555001).id
    fake_telegram.fail_next("403")
    auth_client.post("/settings/telegram/test", data={"csrf_token": auth_client.csrf_token, "tgtest-subscriber": sid})
    html = page(auth_client)
    assert "Сообщение не отправлено" in html and "bot was blocked by the user" in html
    assert ">последняя ошибка<" in html


@pytest.mark.parametrize("choice", ["unlinked", "abc", "", "999999"])
def test_test_message_needs_a_linked_subscriber(app, auth_client, fake_telegram, choice):
    app.config["TELEGRAM_API_URL"] = fake_telegram.url
    settings.put(settings.TELEGRAM_KEY, {"token": fake_telegram.token, "username": "b"})
    db.session.commit()
    subscriber(email=None, chat_id=555001)
    unlinked = subscriber("103", email=None).id
    resp = auth_client.post("/settings/telegram/test", data={
        "csrf_token": auth_client.csrf_token, "tgtest-subscriber": unlinked if choice == "unlinked" else choice})
    assert resp.status_code == 422 and fake_telegram.messages == []
    assert "Выберите сотрудника, подключившего Telegram" in resp.get_data(as_text=True)


def test_remove_the_bot(app, auth_client):
    settings.put(settings.TELEGRAM_KEY, {"token": "1:abc", "username": "b"})
    db.session.commit()
    auth_client.post("/settings/telegram/remove", data={"csrf_token": auth_client.csrf_token})
    assert settings.telegram().configured is False


# -- webhook -----------------------------------------------------------------------

def test_secret_from_the_environment_is_masked_and_not_regenerated(app, auth_client):
    html = page(auth_client)
    assert WEBHOOK_SECRET not in html and WEBHOOK_SECRET[:10] + "…" + WEBHOOK_SECRET[-4:] in html
    assert "WEBHOOK_SECRET" in html and "Сгенерировать новый" not in html
    auth_client.post("/settings/webhook/secret", data={"csrf_token": auth_client.csrf_token})
    assert settings.webhook_secret() == WEBHOOK_SECRET


def test_regenerated_secret_is_shown_once(app, auth_client):
    app.config["WEBHOOK_SECRET_FROM_ENV"] = False
    resp = auth_client.post("/settings/webhook/secret", data={"csrf_token": auth_client.csrf_token})
    html = resp.get_data(as_text=True)
    secret = settings.webhook_secret()
    assert resp.status_code == 200 and secret != WEBHOOK_SECRET
    assert f'value="{secret}"' in html and f"SECRET='{secret}'" in html  # filled into the example
    assert secret not in page(auth_client)


def test_last_event_time_is_shown(app, auth_client):
    db.session.add(Event(event_id="evt-1", type="call.ended", payload={}, started_at=datetime.now(timezone.utc),
                         callee_key="102", received_at=datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)))
    db.session.commit()
    assert "Последнее событие: 02.03.2026 12:30" in page(auth_client)


class _Capture(BaseHTTPRequestHandler):
    def do_POST(self):
        self.server.captured = (dict(self.headers), self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_example_curl_command_signs_correctly(app, auth_client):
    """Run the page's shell example against a local server and check the signature like the app will."""
    app.config["WEBHOOK_SECRET_FROM_ENV"] = False
    html = auth_client.post("/settings/webhook/secret", data={"csrf_token": auth_client.csrf_token}).get_data(as_text=True)
    import html as html_lib

    script = html_lib.unescape(re.search(r'<pre class="code"><code>(SECRET=.*?)</code></pre>', html, re.S)[1])
    server = HTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.handle_request, daemon=True).start()
    script = re.sub(r"URL='[^']*'", f"URL='http://127.0.0.1:{server.server_port}/'", script)
    subprocess.run(["sh", "-c", script], check=True, timeout=20, capture_output=True)
    headers, body = server.captured
    server.server_close()
    key = base64.b64decode(settings.webhook_secret().removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert b'"id":"evt-0001"' in body and headers["Content-Type"] == "application/json"


# -- API tokens --------------------------------------------------------------------

def test_create_use_and_revoke_an_api_token(app, auth_client, client):
    resp = auth_client.post("/settings/tokens", data={"csrf_token": auth_client.csrf_token, "token-name": "Скрипт <АТС>"})
    html = resp.get_data(as_text=True)
    token = re.search(r'id="new-token">', html) and re.search(r'value="([^"]+)" readonly class="readonly mono" aria-label="Новый API-токен"', html)[1]
    assert "Скопируйте его сейчас" in html and "Скрипт &lt;АТС&gt;" in html
    row = db.session.scalar(select(ApiToken))
    assert row.token_hash == token_digest(token) and token.startswith(row.prefix) and len(row.prefix) == 8
    token_id = row.id
    assert client.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    html = page(auth_client)
    assert token not in html and f"{token[:8]}…" in html
    assert "не использовался" not in html  # last use is recorded

    resp = auth_client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 302
    assert client.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "Токенов пока нет." in page(auth_client)


@pytest.mark.parametrize("name, message", [("", "Укажите название"), ("x" * 101, "Не длиннее 100 символов")])
def test_token_name_is_validated(app, auth_client, name, message):
    resp = auth_client.post("/settings/tokens", data={"csrf_token": auth_client.csrf_token, "token-name": name})
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None


def test_forms_need_the_csrf_token(app, auth_client):
    for path in ("/settings/mail", "/settings/tokens", "/settings/telegram", "/settings/webhook/secret"):
        assert auth_client.post(path, data={"token-name": "x"}).status_code == 400
    assert db.session.scalar(select(ApiToken)) is None
