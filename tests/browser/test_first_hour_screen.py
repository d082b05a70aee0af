"""Issue 14 in a real browser: the webhook secret shown on demand and copied to
the clipboard; «Отправить тестовое событие» through the worker to the SMTP
server, ending on the event in «Журнал»; the favicon."""
import pytest

from tests.conftest import WEBHOOK_SECRET
from tests.factories import configure_mail, rule, subscriber

pytestmark = pytest.mark.browser


def test_show_and_copy_the_webhook_secret(admin_page, screenshot):
    page = admin_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/settings/")
    page.locator("#webhook > summary").click()
    card = page.locator("#webhook")
    assert WEBHOOK_SECRET not in page.content()
    assert card.get_by_label("Секрет подписи").input_value().startswith("whsec_")
    assert card.locator("#loopback-warning").is_visible()  # the live server listens on 127.0.0.1

    card.get_by_role("button", name="Показать").click()
    page.get_by_role("button", name="Копировать").wait_for()
    assert page.get_by_label("Секрет подписи").input_value() == WEBHOOK_SECRET
    page.get_by_role("button", name="Копировать").click()
    page.get_by_role("button", name="Скопировано").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == WEBHOOK_SECRET
    screenshot("settings-webhook-secret-shown")

    page.get_by_role("link", name="Скрыть").click()
    page.get_by_role("button", name="Показать").wait_for()
    assert WEBHOOK_SECRET not in page.content()


def test_test_event_button_reaches_the_smtp_server_and_the_log(app, admin_page, smtp_server, run_worker, screenshot):
    configure_mail(smtp_server)
    employee = subscriber("101", name="Петров Пётр", email="petrov@example.com")
    rule(employee.id)
    page = admin_page
    page.goto("/settings/")
    page.locator("#webhook > summary").click()
    form = page.locator("#test-event")
    form.get_by_label("Номер абонента").fill("101")
    form.get_by_label("Тип события").select_option(label="Пропущенный звонок")
    screenshot("settings-test-event-form")
    form.get_by_role("button", name="Отправить тестовое событие").click()
    page.wait_for_url("**/log/*")
    page.get_by_text("принято и поставлено в очередь").wait_for()

    run_worker()
    [msg] = smtp_server.wait_for(1)
    assert msg.rcpt_tos == ["petrov@example.com"]
    page.reload()
    text = page.locator("#main").inner_text()
    assert "Петров Пётр" in text and "Отправлено" in text, text
    screenshot("log-test-event-sent")

    icon = page.request.get("/favicon.ico")
    assert icon.status == 200 and icon.body()[:4] == b"\x00\x00\x01\x00"
