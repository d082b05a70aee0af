"""«Настройки» in a real browser: SMTP + test email to the fake server; API token create/revoke."""
import pytest

pytestmark = pytest.mark.browser


def test_save_smtp_and_send_a_test_email(admin_page, smtp_server, screenshot):
    page = admin_page
    page.get_by_role("link", name="Настройки").click()
    page.get_by_role("heading", name="Настройки", exact=True).wait_for()
    mail = page.locator("#mail")
    assert "не настроено" in mail.locator("#mail-status").inner_text()

    mail.get_by_label("SMTP-сервер").fill(smtp_server.host)
    mail.get_by_label("Порт").fill(str(smtp_server.port))
    mail.get_by_label("Шифрование").select_option("none")
    mail.get_by_label("Отправитель").fill("АТС <pbx@example.com>")
    mail.get_by_label("Пароль", exact=True).fill("smtp-password-123")
    mail.get_by_role("button", name="Сохранить").click()
    page.get_by_text("Настройки почты сохранены.").wait_for()
    assert "настроено" in page.locator("#mail-status").inner_text()
    assert page.locator("#mail").get_by_label("Пароль", exact=True).input_value() == ""

    page.get_by_label("Кому").fill("boss@example.com")
    page.locator("#mail").get_by_role("button", name="Отправить тест").click()
    page.get_by_text("Тестовое письмо отправлено на boss@example.com.").wait_for()
    [msg] = smtp_server.wait_for(1)
    assert msg.rcpt_tos == ["boss@example.com"]
    assert "работает" in page.locator("#mail-status").inner_text()

    page.get_by_label("Название").fill("Скрипт АТС")
    page.get_by_role("button", name="Создать токен").click()
    page.get_by_text("Скопируйте его сейчас").wait_for()
    screenshot("settings")


def test_create_and_revoke_an_api_token(admin_page, live_server):
    page = admin_page
    page.goto("/settings/#tokens")
    page.get_by_label("Название").fill("Провижининг")
    page.get_by_role("button", name="Создать токен").click()
    token = page.get_by_label("Новый API-токен").input_value()
    assert len(token) >= 40
    api = page.request.get(f"{live_server.url}/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert api.status == 200

    page.goto("/settings/")
    row = page.locator("table.tokens tr", has_text="Провижининг")
    assert token[:8] in row.inner_text() and token not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Отозвать").click()
    page.get_by_text("Токен «Провижининг» отозван.").wait_for()
    assert page.get_by_text("Токенов пока нет.").is_visible()
    api = page.request.get(f"{live_server.url}/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert api.status == 401


def test_connect_the_bot_and_send_a_test_message(app, admin_page, fake_telegram, screenshot):
    from notifier.extensions import db
    from notifier.models import Subscriber

    app.config["TELEGRAM_API_URL"] = fake_telegram.url
    db.session.add(Subscriber(number="102", number_key="102", name="Иванов Иван", telegram_chat_id=555001))
    db.session.commit()
    page = admin_page
    page.goto("/settings/#telegram")
    page.get_by_label("Токен бота").fill(fake_telegram.token)
    page.get_by_role("button", name="Подключить бота").click()
    page.get_by_text("Бот @notifier_test_bot подключён.").wait_for()
    assert fake_telegram.token not in page.content()

    fake_telegram.fail_next("403", method="sendMessage")
    page.get_by_label("Сотрудник").select_option(label="Иванов Иван (102)")
    page.locator("#telegram").get_by_role("button", name="Отправить тест").click()
    page.get_by_text("Сообщение не отправлено").wait_for()
    assert "последняя ошибка" in page.locator("#telegram-status").inner_text()

    page.locator("#telegram").get_by_role("button", name="Отправить тест").click()
    page.get_by_text("Тестовое сообщение отправлено: Иванов Иван.").wait_for()
    assert fake_telegram.wait_for(1)[0]["chat_id"] == 555001
    assert "работает" in page.locator("#telegram-status").inner_text()
    page.locator("#webhook > summary").click()
    page.locator("#webhook details.example summary").click()
    screenshot("settings-telegram")
