"""The Telegram link block as the «Абоненты» screen uses it (an htmx button
targeting #telegram-link-<id>), and the webhook settings page, in Chromium."""
import pytest

from notifier.extensions import db
from notifier.models import Subscriber

pytestmark = pytest.mark.browser


@pytest.fixture
def tg(app, fake_telegram):
    app.config.update(TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url)
    return fake_telegram


def test_link_block_copy_and_unlink(app, tg, admin_page, screenshot):
    sub = Subscriber(number="102", number_key="102", name="Иванов Иван", email="ivanov@example.com",
                     telegram_chat_id=42)
    db.session.add(sub)
    db.session.commit()
    sid = sub.id
    page = admin_page
    page.goto("/settings/telegram-webhook")
    # The button the subscribers screen renders (added here as that screen is another issue's).
    page.evaluate("""(sid) => {
        const box = document.createElement("section");
        box.className = "card";
        box.innerHTML = `<button class="button" hx-post="/subscribers/${sid}/telegram-link"
            hx-target="#telegram-link-${sid}">Telegram</button><div id="telegram-link-${sid}"></div>`;
        document.getElementById("main").prepend(box);
        htmx.process(box);
    }""", sid)
    page.get_by_role("button", name="Telegram", exact=True).click()
    field = page.get_by_label("Ссылка для подключения")
    field.wait_for()
    assert field.input_value().startswith("https://t.me/notifier_test_bot?start=")
    page.get_by_role("button", name="Копировать").click()
    page.get_by_role("button", name="Скопировано").wait_for()
    screenshot("telegram-link-block")
    page.get_by_role("button", name="Отвязать").click()
    page.get_by_text("Отвязан администратором").first.wait_for()
    assert page.get_by_text("Telegram не подключён").is_visible()


def test_webhook_settings_page(app, tg, admin_page, screenshot):
    page = admin_page
    page.goto("/settings/telegram-webhook")
    page.get_by_label("Публичный адрес приложения").fill("https://notify.example.com")
    page.get_by_role("button", name="Включить webhook").click()
    page.get_by_text("Webhook включён").wait_for()
    screenshot("telegram-webhook-settings")
    assert tg.webhook["url"] == "https://notify.example.com/api/v1/telegram/webhook"
    page.get_by_role("button", name="Выключить webhook и вернуться к long polling").click()
    page.get_by_text("Webhook выключен").wait_for()
    assert tg.webhook is None
